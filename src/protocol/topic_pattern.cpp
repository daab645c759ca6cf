#include "protocol/topic_pattern.hpp"

#include "protocol/topic.hpp"

namespace natsync {
namespace {

// The next token of `text` from `pos` (which then points past its dot).
std::string_view next_token(std::string_view text, std::size_t& pos) {
  const auto dot = text.find('.', pos);
  const auto end = dot == std::string_view::npos ? text.size() : dot;
  const auto token = text.substr(pos, end - pos);
  pos = dot == std::string_view::npos ? text.size() + 1 : dot + 1;
  return token;
}

}  // namespace

const char* pattern_error(std::string_view text, std::size_t max_length) noexcept {
  if (text.empty()) return "pattern must not be empty";
  if (text.size() > kMaxTopicLength) return "pattern is longer than 256 bytes";
  if (text.size() > max_length) return "pattern is longer than MAX_TOPIC_LENGTH";
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto token = next_token(text, pos);
    if (token.empty()) return "pattern has an empty token (leading, trailing or double dot)";
    if (token == ">" && pos <= text.size()) return "'>' may only be the last token of a pattern";
    if (token == "*" || token == ">") continue;
    if (token.find_first_of("*>") != std::string_view::npos)
      return "a wildcard ('*' or '>') must be a whole token";
    if (const char* why = topic_error(token)) return why;
  }
  return nullptr;
}

std::optional<TopicPattern> TopicPattern::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxTopicLength) return std::nullopt;
  // Wildcard tokens stand alone; the rest must be a valid topic once they are replaced.
  std::string literal;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    if (pos != 0) literal.push_back('.');
    const auto token = next_token(text, pos);
    if (token == ">" && pos <= text.size()) return std::nullopt;  // `>` must be the last token
    if (token == "*" || token == ">") {
      literal.push_back('x');
    } else {
      literal.append(token);
    }
  }
  if (!is_valid_topic(literal)) return std::nullopt;
  return TopicPattern(std::string(text));
}

bool TopicPattern::matches(std::string_view topic) const {
  std::size_t p = 0;
  std::size_t t = 0;
  const std::string_view pattern = text_;
  while (p <= pattern.size()) {
    const auto want = next_token(pattern, p);
    if (want == ">") return t <= topic.size();  // at least one token left
    if (t > topic.size()) return false;
    const auto have = next_token(topic, t);
    if (want != "*" && want != have) return false;
  }
  return t > topic.size();  // both ended together
}

bool TopicPattern::covers(std::string_view pattern) const {
  std::size_t q = 0;
  std::size_t p = 0;
  const std::string_view ours = text_;
  while (true) {
    const bool ours_ended = q > ours.size();
    const bool theirs_ended = p > pattern.size();
    if (ours_ended || theirs_ended) return ours_ended && theirs_ended;
    const auto want = next_token(ours, q);
    const auto have = next_token(pattern, p);
    if (want == ">") return true;    // one or more of anything: whatever is left
    if (have == ">") return false;   // theirs may be longer than ours can be
    if (want == "*") continue;       // a literal or `*`: one token either way
    if (want != have) return false;  // a literal covers only itself
  }
}

std::optional<std::vector<TopicPattern>> TopicPattern::parse_list(const std::vector<std::string>& items,
                                                                  std::string& error) {
  std::vector<TopicPattern> out;
  for (const auto& item : items) {
    auto pattern = TopicPattern::parse(item);
    if (!pattern) {
      error.assign(1, '\'').append(item).append("' is not a topic pattern (tokens, '*', or a last '>')");
      return std::nullopt;
    }
    out.push_back(std::move(*pattern));
  }
  return out;
}

}  // namespace natsync
