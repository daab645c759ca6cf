#include "protocol/presence_messages.hpp"

#include "protocol/server_message.hpp"

namespace natsync {

Frame make_presence_event_frame(bool join, std::string_view topic, const PresenceMember& member) {
  std::string text = join ? R"({"type":"join","topic":)" : R"({"type":"leave","topic":)";
  text.append(json_quote(topic))
      .append(R"(,"data":{"user_id":)")
      .append(json_quote(member.user_id))
      .append(R"(,"client_id":)")
      .append(json_quote(member.client_id))
      .append("}}");
  return make_text_frame(text);
}

Frame make_presence_summary_frame(std::string_view topic, std::size_t joins, std::size_t leaves,
                                  const PresenceData& now) {
  std::string text = R"({"type":"presence_summary","topic":)" + json_quote(topic) + R"(,"data":{"joins":)" +
                     std::to_string(joins) + R"(,"leaves":)" + std::to_string(leaves) + R"(,"connections":)" +
                     std::to_string(now.connections) + R"(,"users":)" + std::to_string(now.users) + "}}";
  return make_text_frame(text);
}

std::string encode_presence_data(const PresenceData& data) {
  std::string out = R"({"connections":)" + std::to_string(data.connections) + R"(,"users":)" +
                    std::to_string(data.users) + R"(,"members":[)";
  for (std::size_t i = 0; i < data.members.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(R"({"user_id":)")
        .append(json_quote(data.members[i].user_id))
        .append(R"(,"client_id":)")
        .append(json_quote(data.members[i].client_id))
        .push_back('}');
  }
  out.push_back(']');
  if (data.truncated) out.append(R"(,"truncated":true)");
  out.push_back('}');
  return out;
}

std::string encode_presence_reply(std::string_view topic, std::string_view id_json,
                                  const PresenceData& data) {
  std::string out = R"({"type":"presence","topic":)" + json_quote(topic);
  if (!id_json.empty()) out.append(R"(,"id":)").append(id_json);
  out.append(R"(,"data":)").append(encode_presence_data(data)).push_back('}');
  return out;
}

}  // namespace natsync
