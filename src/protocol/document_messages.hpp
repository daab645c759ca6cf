#pragma once
// What the server sends about shared documents (docs/documents.md): the snapshot a
// subscriber starts from, each change as the patch every subscriber applies, and the
// acks. A patch frame is encoded once per change and shared by every recipient.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/document_change.hpp"
#include "protocol/wire_frame.hpp"

namespace natsync {

// {"type":"snapshot","topic":T,"data":D,"revision":R,"epoch":E}
Frame make_snapshot_frame(std::string_view topic, std::string_view data_json, std::uint64_t revision,
                          std::string_view epoch);
// {"type":"patch","topic":T,"revision":R, then "data":P | "ops":[…] | "data":V,"replace":true}
Frame make_patch_frame(std::string_view topic, std::uint64_t revision, const DocumentChange& change);
// The ack of a subscribe to a document: {"type":"subscribe","topic":T,"revision":R,
// "epoch":E}, with "recovered" after a "since".
std::string encode_document_subscribe_ack(std::string_view topic, std::string_view id_json,
                                          std::uint64_t revision, std::string_view epoch,
                                          std::optional<bool> recovered);
// The ack of an accepted change: {"type":"patch","topic":T,"id":…,"revision":R}.
std::string encode_patch_ack(std::string_view topic, std::string_view id_json, std::uint64_t revision);

}  // namespace natsync
