#include "protocol/document_messages.hpp"

#include "protocol/server_message.hpp"

namespace natsync {

namespace {
Frame text_frame_of(std::string body_with_room) {
  return std::make_shared<const WireFrame>(WireFrame::Opcode::text, WireFrame::header_room,
                                           std::move(body_with_room));
}

std::string with_header_room(std::size_t reserve) {
  std::string out;
  out.reserve(WireFrame::kMaxHeader + reserve);
  out.append(WireFrame::kMaxHeader, '\0');
  return out;
}
}  // namespace

Frame make_snapshot_frame(std::string_view topic, std::string_view data_json, std::uint64_t revision,
                          std::string_view epoch) {
  auto out = with_header_room(topic.size() + data_json.size() + epoch.size() + 80);
  out.append(R"({"type":"snapshot","topic":")").append(topic).append(R"(","data":)").append(data_json);
  out.append(R"(,"revision":)").append(std::to_string(revision));
  out.append(R"(,"epoch":)").append(json_quote(epoch)).push_back('}');
  return text_frame_of(std::move(out));
}

Frame make_patch_frame(std::string_view topic, std::uint64_t revision, const DocumentChange& change) {
  auto out = with_header_room(topic.size() + change.body.size() + 80);
  out.append(R"({"type":"patch","topic":")").append(topic).append(R"(","revision":)");
  out.append(std::to_string(revision));
  out.append(change.form == DocumentChange::Form::ops ? R"(,"ops":)" : R"(,"data":)").append(change.body);
  if (change.form == DocumentChange::Form::replace) out.append(R"(,"replace":true)");
  out.push_back('}');
  return text_frame_of(std::move(out));
}

std::string encode_document_subscribe_ack(std::string_view topic, std::string_view id_json,
                                          std::uint64_t revision, std::string_view epoch,
                                          std::optional<bool> recovered) {
  std::string out = R"({"type":"subscribe","topic":)" + json_quote(topic);
  out.append(R"(,"revision":)").append(std::to_string(revision));
  out.append(R"(,"epoch":)").append(json_quote(epoch));
  if (recovered) out.append(R"(,"recovered":)").append(*recovered ? "true" : "false");
  if (!id_json.empty()) out.append(R"(,"id":)").append(id_json);
  out.push_back('}');
  return out;
}

std::string encode_patch_ack(std::string_view topic, std::string_view id_json, std::uint64_t revision) {
  std::string out = R"({"type":"patch","topic":)" + json_quote(topic);
  if (!id_json.empty()) out.append(R"(,"id":)").append(id_json);
  out.append(R"(,"revision":)").append(std::to_string(revision)).push_back('}');
  return out;
}

}  // namespace natsync
