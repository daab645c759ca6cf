#pragma once
// Reads what a client sends on an established WebSocket connection (RFC 6455 §5):
// masked frames, fragments joined into messages, control frames between them, and
// every rule a server must enforce (reserved bits and opcodes, masking, control-frame
// size, continuation order, minimal lengths, close codes, UTF-8 of text and close
// reasons, WS_MAX_MESSAGE_SIZE). Pure: bytes in, events out, no I/O.
//
// Why not Beast's websocket::stream: its state is 2.6 KiB per connection (a 1.5 KiB
// inline read buffer among it) and its composed read operation another ~0.5 KiB, on
// every idle connection; this parser's state is under 100 bytes, and between messages
// it keeps nothing else (docs/benchmarks.md, "Memory per connection"). Beast still
// serves connections that negotiate permessage-deflate.
//
// Incremental: input may end anywhere (inside a header, a payload, a UTF-8 sequence).
// Text is checked as it arrives, so an invalid byte fails the connection at once
// (1007), not only when its message ends.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace natsync {

class FrameParser {
 public:
  enum class Event : std::uint8_t {
    none,     // the input is consumed; nothing complete yet
    message,  // a data message is complete in the caller's buffer (text() says which kind)
    ping,     // payload in control()
    pong,     // payload in control()
    close,    // the peer's close frame: close_code() (0: none given), reason in control()
    error,    // the connection must fail with error_code(); error_reason() says why
  };
  struct Result {
    std::size_t consumed = 0;
    Event event = Event::none;
  };

  explicit FrameParser(std::size_t max_message) : max_message_(max_message) {}

  // Parses from `input`, appending data payload (unmasked) to `message`. Stops after
  // the first event, so the caller handles it (and clears `message` after a message)
  // before it feeds the rest. After an error nothing more is parsed.
  Result parse(std::string_view input, std::string& message);

  // The kind of the message the last Event::message completed.
  bool text() const { return text_; }
  std::string_view control() const { return control_; }
  unsigned short close_code() const { return close_code_; }
  // After Event::error: the close code the connection fails with, and the rule broken.
  bool failed() const { return stage_ == Stage::failed; }
  unsigned short error_code() const { return error_code_; }
  std::string_view error_reason() const { return error_reason_; }
  // Between messages with no partial frame: nothing of the peer's is pending.
  bool idle() const { return stage_ == Stage::header && header_size_ == 0 && message_opcode_ == kNone; }

 private:
  enum class Stage : std::uint8_t { header, data, control, failed };
  static constexpr std::uint8_t kNone = 0;  // no message under way
  static constexpr std::uint8_t kText = 1;
  static constexpr std::uint8_t kBinary = 2;

  // Consumes header bytes; true once a whole header is in and accepted.
  bool read_header(std::string_view& input);
  // The first two header bytes are in: may such a frame come now?
  bool check_start();
  // The whole header is in (`extended`: bytes of extended length).
  bool accept_header(std::size_t extended);
  // Moves what `input` has of the current frame's payload, unmasked, to the end of `into`.
  std::size_t take_payload(std::string_view& input, std::string& into);
  // Unmasks `n` bytes at `data`, which continue the current frame's payload.
  void unmask(char* data, std::size_t n);
  // More data payload is in `message`: checks its text; ends the frame when complete.
  Event after_data(std::string& message);
  Event finish_control();
  Event fail(unsigned short code, const char* reason);
  // fail(), for the header checks, which answer whether the frame may go on.
  bool refuse(unsigned short code, const char* reason);

  std::size_t max_message_;
  std::uint64_t payload_left_ = 0;
  std::uint64_t message_bytes_ = 0;  // data payload of the message under way so far
  std::size_t utf8_checked_ = 0;     // text of the message up to here is complete and valid
  std::string control_;              // a control frame's payload (≤ 125 bytes)
  const char* error_reason_ = "";
  std::array<unsigned char, 14> header_{};  // the longest header: 2 + 8 + 4 (mask)
  std::array<unsigned char, 4> mask_{};
  std::uint8_t header_size_ = 0;  // header bytes collected
  std::uint8_t mask_offset_ = 0;  // payload bytes of this frame so far, modulo 4
  std::uint8_t message_opcode_ = kNone;
  std::uint8_t control_opcode_ = 0;
  bool fin_ = false;   // the current data frame ends its message
  bool text_ = false;  // the last complete message was text
  Stage stage_ = Stage::header;
  unsigned short close_code_ = 0;
  unsigned short error_code_ = 0;
};

// RFC 6455 §7.4: may a peer send this close code? (1005, 1006 and 1015 are never on the
// wire; 1016–2999 are reserved; 3000–4999 belong to libraries and applications.)
bool is_valid_close_code(unsigned code);

// Whether `text` is valid UTF-8 except that it may end inside a sequence that can
// still be completed; returns the length of that unfinished tail (0–3), or -1 when
// the text is invalid.
int utf8_unfinished_tail(std::string_view text);

}  // namespace natsync
