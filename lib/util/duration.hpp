// Durations as people write them on a command line: "90" (seconds), "90s",
// "1500ms", "2m", "1.5s", "1h".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vmu {

// Parses a duration: a non-negative decimal number with an optional unit
// (ms, s, m, h; none means `bare_unit`). Throws Exit::usage naming `what`
// and quoting the text when it is not one, or when it exceeds 30 days.
std::chrono::milliseconds parse_duration(
    std::string_view text, std::string_view what,
    std::chrono::milliseconds bare_unit = std::chrono::seconds(1));

// The same without throwing: std::nullopt, and in `why` what is wrong
// ("no number", "unknown unit 'x'", "longer than 30 days").
std::optional<std::chrono::milliseconds> try_parse_duration(
    std::string_view text, std::string* why,
    std::chrono::milliseconds bare_unit = std::chrono::seconds(1));

// "9.8 s", "850 ms", "2 min 5 s": for messages.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace vmu
