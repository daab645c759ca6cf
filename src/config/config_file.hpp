#pragma once
// CONFIG_FILE: settings as KEY=value lines, the format of the environment file a systemd
// unit names (EnvironmentFile=). Lower in precedence than the environment and the flags:
// a file value is used only for a setting that neither gives (docs/configuration.md).
//
// The format: one KEY=value a line; blank lines and lines starting with # are skipped;
// "export " in front of a key is allowed; a value in matching single or double quotes
// loses them (no escapes inside); blanks around the key and the value are trimmed.
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace natsync {

struct ConfigFileEntry {
  std::string key;
  std::string value;
  std::size_t line = 0;
};

// The entries of `text`, or one line saying what is wrong (with the line number).
std::variant<std::vector<ConfigFileEntry>, std::string> parse_config_file(std::string_view text);

}  // namespace natsync
