#include "documents/document_record.hpp"

#include <charconv>

namespace natsync {
namespace {

constexpr std::string_view kMagic = "NSD1 ";

char form_letter(DocumentChange::Form form) {
  switch (form) {
    case DocumentChange::Form::merge: return 'm';
    case DocumentChange::Form::ops: return 'o';
    case DocumentChange::Form::replace: return 'r';
  }
  return 'm';
}

// A decimal number followed by `end`, taken off the front of `text`.
bool take_number(std::string_view& text, char end, std::uint64_t& out) {
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  const auto [next, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || next == first || next == last || *next != end) return false;
  text.remove_prefix(static_cast<std::size_t>(next - first) + 1);
  return true;
}

}  // namespace

std::string encode_document_record(const DocumentRecord& record) {
  std::string out(kMagic);
  out += std::to_string(record.revision);
  out += ' ';
  out += std::to_string(record.previous_sequence);
  out += ' ';
  out += form_letter(record.form);
  out += ' ';
  out += std::to_string(record.change.size());
  out += '\n';
  out += record.change;
  out += record.document;
  return out;
}

std::optional<DocumentRecord> decode_document_record(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return std::nullopt;
  bytes.remove_prefix(kMagic.size());
  DocumentRecord record;
  if (!take_number(bytes, ' ', record.revision) || record.revision == 0) return std::nullopt;
  if (!take_number(bytes, ' ', record.previous_sequence)) return std::nullopt;
  if (bytes.size() < 2 || bytes[1] != ' ') return std::nullopt;
  switch (bytes[0]) {
    case 'm': record.form = DocumentChange::Form::merge; break;
    case 'o': record.form = DocumentChange::Form::ops; break;
    case 'r': record.form = DocumentChange::Form::replace; break;
    default: return std::nullopt;
  }
  bytes.remove_prefix(2);
  std::uint64_t change_bytes = 0;
  if (!take_number(bytes, '\n', change_bytes) || change_bytes == 0 || change_bytes >= bytes.size())
    return std::nullopt;
  record.change = bytes.substr(0, change_bytes);
  record.document = bytes.substr(change_bytes);
  return record;
}

}  // namespace natsync
