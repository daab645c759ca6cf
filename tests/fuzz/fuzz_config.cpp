// libFuzzer target: the command line through load_config (one argument per line), and
// the duration, listen-address and CONFIG_FILE parsers on the whole input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/config_file.hpp"
#include "config/duration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)natsync::parse_duration(text);
  (void)natsync::parse_listen_address(text);
  (void)natsync::parse_log_level(text);
  (void)natsync::parse_config_file(text);
  // Reading a key file or a config file are the settings that touch the file system
  // (/dev/stdin would wait): left out.
  if (text.find("key-file") != std::string_view::npos || text.find("config-file") != std::string_view::npos ||
      text.find('\0') != std::string_view::npos)
    return 0;
  std::vector<std::string> args{"natsync"};
  std::size_t start = 0;
  while (start <= text.size() && args.size() < 32) {
    const auto end = std::min(text.find('\n', start), text.size());
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& arg : args) argv.push_back(arg.c_str());
  (void)natsync::load_config(static_cast<int>(argv.size()), argv.data());
  return 0;
}
