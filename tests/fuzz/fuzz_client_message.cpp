// libFuzzer target: client messages and REST bodies through MessageParser, and the
// replies encoded from whatever it accepted (hostile ids, topics and data included).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/client_message.hpp"
#include "protocol/server_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One parser for the whole run, as each worker keeps one: its buffers are reused.
  static natsync::MessageParser parser(64);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto message = parser.parse_client_message(text);
  if (auto* parsed = std::get_if<natsync::ClientMessage>(&message)) {
    (void)natsync::encode_ack(parsed->type, parsed->topic, parsed->id);
    (void)natsync::encode_error(natsync::ErrorCode::invalid_topic, parsed->topic, parsed->id);
  } else {
    const auto& error = std::get<natsync::ProtocolError>(message);
    (void)natsync::encode_error(error.code, error.message, error.id);
  }
  (void)parser.parse_publish_request(text, natsync::PublishKind::topic_or_user);
  (void)parser.parse_publish_request(text, natsync::PublishKind::broadcast);
  (void)parser.is_json(text);
  return 0;
}
