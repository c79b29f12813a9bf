#include "util/time.hpp"

#include <cstdio>
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace vmu {

std::string to_rfc3339(SysTime t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

std::string to_rfc3339_ms(SysTime t) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", secs, (ms - secs).count());
}

std::string now_rfc3339() {
  return to_rfc3339(std::chrono::system_clock::now());
}

std::optional<SysTime> parse_rfc3339(std::string_view s) {
  if (s.size() < 20 || s.size() > 40) return std::nullopt;
  std::string buf(s);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(buf.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  std::string_view tail = std::string_view(buf).substr(static_cast<std::size_t>(consumed));
  if (!tail.empty() && tail.front() == '.') {
    tail.remove_prefix(1);
    while (!tail.empty() && tail.front() >= '0' && tail.front() <= '9') tail.remove_prefix(1);
  }
  if (tail != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t tt = ::timegm(&tm);
  if (tt == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(tt);
}

std::int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace vmu
