#include "protocol/server_message.hpp"

#include <boost/json/serialize.hpp>

namespace natsync {

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

namespace {
constexpr std::string_view kTopicHead = R"({"type":"data","topic":")";
constexpr std::string_view kTopicMid = R"(","data":)";
constexpr std::string_view kDirectHead = R"({"type":"data","data":)";
}  // namespace

Frame make_topic_data_frame(std::string_view topic, std::string_view data_json,
                            const StreamPosition* position) {
  constexpr std::string_view head = kTopicHead;
  constexpr std::string_view mid = kTopicMid;
  std::string stream;  // ","offset":N,"epoch":"E  (between the topic and its closing quote's successor)
  if (position != nullptr) {
    stream.append(R"(","offset":)").append(std::to_string(position->offset)).append(R"(,"epoch":")");
    stream.append(position->epoch);
  }
  std::string out;
  out.reserve(WireFrame::kMaxHeader + head.size() + topic.size() + stream.size() + mid.size() +
              data_json.size() + 1);
  out.append(WireFrame::kMaxHeader, '\0');
  out.append(head).append(topic).append(stream).append(mid).append(data_json).push_back('}');
  return std::make_shared<const WireFrame>(WireFrame::Opcode::text, WireFrame::header_room, std::move(out));
}

Frame make_direct_data_frame(std::string_view data_json) {
  constexpr std::string_view head = kDirectHead;
  std::string out;
  out.reserve(WireFrame::kMaxHeader + head.size() + data_json.size() + 1);
  out.append(WireFrame::kMaxHeader, '\0');
  out.append(head).append(data_json).push_back('}');
  return std::make_shared<const WireFrame>(WireFrame::Opcode::text, WireFrame::header_room, std::move(out));
}

std::string_view frame_data(std::string_view frame) {
  std::size_t begin = kDirectHead.size();
  if (frame.starts_with(kTopicHead)) {
    // Topics never contain '"', so the first `","data":` ends the topic.
    begin = frame.find(kTopicMid, kTopicHead.size()) + kTopicMid.size();
  }
  return frame.substr(begin, frame.size() - begin - 1);
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

std::string encode_durable_sync_ack(std::string_view topic, std::string_view id_json,
                                    const StreamPosition& position, bool duplicate) {
  std::string out = R"({"type":"sync","topic":)" + json_quote(topic);
  out.append(R"(,"offset":)").append(std::to_string(position.offset));
  out.append(R"(,"epoch":)").append(json_quote(position.epoch));
  if (duplicate) out.append(R"(,"duplicate":true)");
  append_id(out, id_json);
  out.push_back('}');
  return out;
}

std::string encode_subscribe_ack(std::string_view topic, std::string_view id_json,
                                 const StreamPosition* position, std::optional<bool> recovered) {
  std::string out = R"({"type":"subscribe","topic":)" + json_quote(topic);
  if (position != nullptr) {
    out.append(R"(,"offset":)").append(std::to_string(position->offset));
    out.append(R"(,"epoch":)").append(json_quote(position->epoch));
  }
  if (recovered) out.append(R"(,"recovered":)").append(*recovered ? "true" : "false");
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

std::string encode_error(ErrorCode code, std::string_view message, std::string_view id_json,
                         std::string_view extra_fields) {
  std::string out = R"({"type":"error","error":)" + json_quote(message) + R"(,"code":")" +
                    std::string(to_string(code)) + '"';
  out.append(extra_fields);
  append_id(out, id_json);
  out.push_back('}');
  return out;
}

std::string encode_disconnect(std::string_view reason, bool reconnect) {
  return R"({"type":"disconnect","data":{"reason":)" + json_quote(reason) + R"(,"reconnect":)" +
         (reconnect ? "true" : "false") + "}}";
}

}  // namespace natsync
