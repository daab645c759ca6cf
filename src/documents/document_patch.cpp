#include "documents/document_patch.hpp"

#include <utility>
#include <vector>

namespace natsync {

std::size_t nesting_depth(const nlohmann::json& value) {
  std::size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, std::size_t>> stack{{&value, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

namespace {

// nlohmann's text without its "[json.exception.…] " tag.
std::string reason(const nlohmann::json::exception& e) {
  std::string_view text = e.what();
  if (const auto tag_end = text.find("] ");
      text.starts_with("[json.exception") && tag_end != std::string_view::npos)
    text.remove_prefix(tag_end + 2);
  return std::string(text);
}

PatchError too_deep() {
  return PatchError{ErrorCode::invalid_message,
                    "nesting deeper than " + std::to_string(kMaxDocumentDepth) + " levels", std::nullopt};
}

// What RFC 6902 requires of the target and nlohmann's patch() does not check: "remove"
// needs its location to exist (nlohmann silently does nothing under a scalar or null
// parent), and "add", "move" and "copy" need their parent to be an object or an array
// (nlohmann asserts on a scalar parent, and turns a null one into an object).
// A malformed operation is left to patch_inplace, which names what is wrong with it.
std::optional<std::string> target_refused(const nlohmann::json& work, const nlohmann::json& op) {
  if (!op.is_object()) return std::nullopt;
  const auto name = op.find("op");
  const auto path = op.find("path");
  if (name == op.end() || path == op.end() || !name->is_string() || !path->is_string()) return std::nullopt;
  const nlohmann::json::json_pointer pointer(path->get<std::string>());
  const auto& verb = name->get_ref<const std::string&>();
  if (verb == "remove") {
    if (pointer.empty()) return "the whole document cannot be removed";
    if (!work.contains(pointer)) return "path '" + pointer.to_string() + "' not found";
  } else if (verb == "add" || verb == "move" || verb == "copy") {
    if (pointer.empty()) return std::nullopt;
    const auto parent = pointer.parent_pointer();
    if (work.contains(parent) && !work.at(parent).is_structured())
      return "the parent of '" + pointer.to_string() + "' is neither an object nor an array";
  }
  return std::nullopt;
}

// RFC 6902, one operation at a time on a working copy, so that a failure names its
// operation and leaves the document as it was (the whole patch applies or none of it).
std::optional<PatchError> apply_operations(nlohmann::json& work, const nlohmann::json& ops) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    try {
      if (auto refused = target_refused(work, op)) {
        return PatchError{ErrorCode::patch_failed, "operation " + std::to_string(i) + " failed: " + *refused,
                          i};
      }
      work.patch_inplace(nlohmann::json::array({op}));
    } catch (const nlohmann::json::parse_error& e) {
      // The operation is malformed: no "op", an unknown one, a missing "path"/"value"/"from".
      return PatchError{ErrorCode::invalid_message,
                        "operation " + std::to_string(i) + " is malformed: " + reason(e), i};
    } catch (const nlohmann::json::exception& e) {
      // Well formed, but it does not apply here: a failed "test", a path that is not there.
      return PatchError{ErrorCode::patch_failed, "operation " + std::to_string(i) + " failed: " + reason(e),
                        i};
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<PatchedDocument, PatchError> apply_change(const nlohmann::json& document,
                                                       const DocumentChange& change, std::size_t max_bytes) {
  auto body = nlohmann::json::parse(change.body, nullptr, false);
  if (body.is_discarded())
    return PatchError{ErrorCode::invalid_message, "the change is not JSON", std::nullopt};
  if (nesting_depth(body) > kMaxDocumentDepth) return too_deep();

  PatchedDocument result;
  switch (change.form) {
    case DocumentChange::Form::replace: result.document = std::move(body); break;
    case DocumentChange::Form::merge:
      result.document = document;
      result.document.merge_patch(body);
      break;
    case DocumentChange::Form::ops:
      if (!body.is_array()) {
        return PatchError{ErrorCode::invalid_message, "'ops' must be an array of operations", std::nullopt};
      }
      result.document = document;
      if (auto failed = apply_operations(result.document, body)) return std::move(*failed);
      break;
  }
  if (nesting_depth(result.document) > kMaxDocumentDepth) {
    return PatchError{ErrorCode::document_too_large,
                      "the document would nest deeper than " + std::to_string(kMaxDocumentDepth) + " levels",
                      std::nullopt};
  }
  result.text = result.document.dump();
  if (result.text.size() > max_bytes) {
    return PatchError{ErrorCode::document_too_large,
                      "the document would be " + std::to_string(result.text.size()) +
                          " bytes, over DOCUMENT_MAX_BYTES (" + std::to_string(max_bytes) + ")",
                      std::nullopt};
  }
  return result;
}

}  // namespace natsync
