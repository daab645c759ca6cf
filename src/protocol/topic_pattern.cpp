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
