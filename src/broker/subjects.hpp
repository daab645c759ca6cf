#pragma once
// How natsync names things on NATS (docs/cluster.md):
//   <prefix>.t.<topic>   a topic; topic names are valid subject tokens by construction
//   <prefix>.u.<user>    one user's connections; the user id encoded by encode_user
//   <prefix>.all         broadcasts
//   <prefix>.nodes       node heartbeats (cluster-wide status)
// The message body is the publication's `data` JSON and nothing else, so any NATS
// client can publish into natsync (`nats pub natsync.t.news '{"x":1}'`) or listen.
#include <optional>
#include <string>
#include <string_view>

namespace natsync {

class SubjectMap {
 public:
  // `prefix` must satisfy valid_prefix().
  explicit SubjectMap(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string topic(std::string_view topic) const { return prefix_ + ".t." + std::string(topic); }
  std::string user(std::string_view user_id) const { return prefix_ + ".u." + encode_user(user_id); }
  std::string all() const { return prefix_ + ".all"; }
  std::string nodes() const { return prefix_ + ".nodes"; }

  // A user id as one subject token, reversibly: ids made only of [A-Za-z0-9_:-] stand
  // for themselves; any other id (dots, spaces, '*', non-ASCII, …) becomes '~' plus
  // the lowercase hex of its bytes. '~' never starts a plain id, so both forms are
  // unambiguous.
  static std::string encode_user(std::string_view user_id);
  static std::optional<std::string> decode_user(std::string_view token);

  // One or more tokens of [A-Za-z0-9_:-] separated by single dots.
  static bool valid_prefix(std::string_view prefix);

 private:
  std::string prefix_;
};

}  // namespace natsync
