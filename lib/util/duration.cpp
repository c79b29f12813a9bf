#include "util/duration.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

std::optional<std::chrono::milliseconds> try_parse_duration(std::string_view text, std::string* why,
                                                            std::chrono::milliseconds bare_unit) {
  auto bad = [&](std::string w) -> std::optional<std::chrono::milliseconds> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  std::size_t i = 0;
  bool digits = false, dot = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++i;
  }
  if (!digits) return bad("no number");
  const std::string number(text.substr(0, i));
  const std::string_view unit = text.substr(i);
  double scale = 0;  // milliseconds per unit
  if (unit.empty())
    scale = static_cast<double>(bare_unit.count());
  else if (unit == "ms")
    scale = 1;
  else if (unit == "s" || unit == "sec")
    scale = 1000;
  else if (unit == "m" || unit == "min")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else
    return bad(fmt::format("unknown unit '{}'", unit));
  const double ms = std::strtod(number.c_str(), nullptr) * scale;
  if (!std::isfinite(ms) || ms > 30.0 * 86400e3) return bad("longer than 30 days");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what,
                                         std::chrono::milliseconds bare_unit) {
  std::string why;
  if (auto d = try_parse_duration(text, &why, bare_unit)) return *d;
  throw Error(
      Exit::usage, "bad_duration",
      fmt::format("{}: '{}' is not a duration ({}; e.g. 90, 90s, 1500ms, 2m)", what, text, why));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms < 1000) return fmt::format("{} ms", ms);
  if (ms < 60000) return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
  const auto s = ms / 1000;
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  if (s % 3600 == 0 && s >= 86400 && s % 86400 == 0) return fmt::format("{} days", s / 86400);
  return fmt::format("{} h {} min", s / 3600, (s % 3600) / 60);
}

}  // namespace vmu
