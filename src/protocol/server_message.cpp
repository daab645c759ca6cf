#include "protocol/server_message.hpp"

#include <boost/json/serialize.hpp>

namespace natsync {

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

Frame make_topic_data_frame(std::string_view topic, std::string_view data_json) {
  constexpr std::string_view head = R"({"type":"data","topic":")";
  constexpr std::string_view mid = R"(","data":)";
  std::string out;
  out.reserve(head.size() + topic.size() + mid.size() + data_json.size() + 1);
  out.append(head).append(topic).append(mid).append(data_json).push_back('}');
  return std::make_shared<const std::string>(std::move(out));
}

Frame make_direct_data_frame(std::string_view data_json) {
  constexpr std::string_view head = R"({"type":"data","data":)";
  std::string out;
  out.reserve(head.size() + data_json.size() + 1);
  out.append(head).append(data_json).push_back('}');
  return std::make_shared<const std::string>(std::move(out));
}

std::string encode_connect(std::string_view client_id, std::string_view user_id) {
  return R"({"type":"connect","data":{"client_id":)" + json_quote(client_id) + R"(,"user_id":)" +
         json_quote(user_id) + "}}";
}

namespace {
void append_id(std::string& out, std::string_view id_json) {
  if (!id_json.empty()) out.append(R"(,"id":)").append(id_json);
}
}  // namespace

std::string encode_ack(MessageType type, std::string_view topic, std::string_view id_json) {
  std::string out = R"({"type":")" + std::string(to_string(type)) + '"';
  if (!topic.empty()) out.append(R"(,"topic":)").append(json_quote(topic));
  append_id(out, id_json);
  out.push_back('}');
  return out;
}

std::string encode_auth_ok(std::string_view user_id, std::string_view id_json) {
  std::string out = R"({"type":"auth","data":{"user_id":)" + json_quote(user_id) + "}";
  append_id(out, id_json);
  out.push_back('}');
  return out;
}

std::string encode_error(ErrorCode code, std::string_view message, std::string_view id_json) {
  std::string out = R"({"type":"error","error":)" + json_quote(message) + R"(,"code":")" +
                    std::string(to_string(code)) + '"';
  append_id(out, id_json);
  out.push_back('}');
  return out;
}

std::string encode_disconnect(std::string_view reason, bool reconnect) {
  return R"({"type":"disconnect","data":{"reason":)" + json_quote(reason) + R"(,"reconnect":)" +
         (reconnect ? "true" : "false") + "}}";
}

}  // namespace natsync
