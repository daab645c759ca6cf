#pragma once
// Go-style duration strings ("500ms", "54s", "1m30s"), the format the spec's
// WS_PING_INTERVAL / WS_PONG_WAIT variables use.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace natsync {

using Duration = std::chrono::nanoseconds;

// Parses a non-negative Go duration: a sequence of decimal numbers, each with an
// optional fraction and a unit (ns, us, µs, ms, s, m, h). "0" alone is allowed.
// Returns nullopt for anything else, including overflow past ~292 years.
std::optional<Duration> parse_duration(std::string_view text);

// Formats a duration the way Go prints it for round values ("54s", "500ms", "2m").
std::string format_duration(Duration d);

}  // namespace natsync
