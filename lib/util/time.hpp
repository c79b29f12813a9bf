// Wall-clock times as RFC 3339 UTC strings, the record's time format.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vmu {

using SysTime = std::chrono::system_clock::time_point;

std::string to_rfc3339(SysTime t);  // "2026-11-26T01:26:57Z"
std::string now_rfc3339();
// With milliseconds: "2026-11-26T01:26:57.123Z".
std::string to_rfc3339_ms(SysTime t);
// Parses what to_rfc3339 writes (UTC, "Z", optional fraction); nullopt otherwise.
std::optional<SysTime> parse_rfc3339(std::string_view s);

// Milliseconds elapsed since `start` on the monotonic clock.
std::int64_t ms_since(std::chrono::steady_clock::time_point start);

}  // namespace vmu
