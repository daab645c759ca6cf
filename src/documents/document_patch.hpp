#pragma once
// Applying one change to a document: RFC 7396 merge patch, RFC 6902 JSON Patch, or a
// replacement, with nlohmann/json's own implementations of both RFCs. A pure function:
// the document given is never modified; the result is the new document or why not.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "protocol/document_change.hpp"
#include "protocol/error_code.hpp"

namespace natsync {

// Deepest nesting a document or a change may have. Client input is bounded by the
// parser already (simdjson: 1024); this keeps documents shallow enough that every
// recursive walk over them (merge, dump, compare) stays far from the stack's end.
inline constexpr std::size_t kMaxDocumentDepth = 100;

struct PatchedDocument {
  nlohmann::json document;
  std::string text;  // its compact JSON (what is stored and snapshotted)
};

struct PatchError {
  ErrorCode code;  // patch_failed, invalid_message or document_too_large
  std::string message;
  std::optional<std::size_t> index;  // the JSON Patch operation that failed
};

// `change.body` must be valid JSON (the parser's output). `max_bytes`: largest result.
std::variant<PatchedDocument, PatchError> apply_change(const nlohmann::json& document,
                                                       const DocumentChange& change, std::size_t max_bytes);

// How deeply `value` nests (a scalar: 0; [] or {}: 1), walked without recursion.
std::size_t nesting_depth(const nlohmann::json& value);

}  // namespace natsync
