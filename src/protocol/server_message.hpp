#pragma once
// Encoding of everything the server sends. Data frames are built once per
// publication and shared, immutable, by every recipient (Frame); control replies are
// built per connection because they are addressed to one.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error_code.hpp"
#include "protocol/message_type.hpp"
#include "protocol/stream_position.hpp"
#include "protocol/wire_frame.hpp"

namespace natsync {

// {"type":"data","topic":T,"data":D}. `topic` must be valid (no escaping needed) and
// `data_json` must already be valid compact JSON. On a durable topic, with `position`:
// {"type":"data","topic":T,"offset":N,"epoch":E,"data":D}.
Frame make_topic_data_frame(std::string_view topic, std::string_view data_json,
                            const StreamPosition* position = nullptr);
// {"type":"data","data":D}: messages to one user, and broadcasts.
Frame make_direct_data_frame(std::string_view data_json);
// The data JSON inside a frame made by one of the two functions above (what travels
// between nodes, so that the receiving node builds its frame without re-encoding).
std::string_view frame_data(std::string_view frame);

std::string encode_connect(std::string_view client_id, std::string_view user_id);
// Ack of subscribe/unsubscribe/sync/disconnect: {"type":…,"topic":…,"id":…}.
std::string encode_ack(MessageType type, std::string_view topic, std::string_view id_json);
// Ack of a sync into a durable topic, once stored: where the message is in its stream
// and, for a repeated idempotency key, "duplicate":true (stored before, not again).
std::string encode_durable_sync_ack(std::string_view topic, std::string_view id_json,
                                    const StreamPosition& position, bool duplicate);
// Ack of a subscribe: on a durable topic (`position` set) where its stream stands; after
// a "since", whether the missed messages follow ("recovered").
std::string encode_subscribe_ack(std::string_view topic, std::string_view id_json,
                                 const StreamPosition* position, std::optional<bool> recovered);
std::string encode_auth_ok(std::string_view user_id, std::string_view id_json);
// `extra_fields`: more members, already encoded, each with its leading comma
// (`,"revision":7` for revision_conflict).
std::string encode_error(ErrorCode code, std::string_view message, std::string_view id_json,
                         std::string_view extra_fields = {});
std::string encode_disconnect(std::string_view reason, bool reconnect);

// JSON string literal (quoted, escaped) for arbitrary text.
std::string json_quote(std::string_view text);

}  // namespace natsync
