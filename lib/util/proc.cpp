#include "util/proc.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "util/fs.hpp"

namespace vmu {

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> stat;
  try {
    stat = read_file_if_exists(fmt::format("/proc/{}/stat", pid), 1u << 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!stat) return std::nullopt;
  // The command name (field 2) may hold spaces and ')': fields are counted
  // after its last ')'. Field 3 (state) follows, field 22 is starttime.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::string_view rest(*stat);
  rest.remove_prefix(close + 1);
  int field = 2;
  std::size_t pos = 0;
  while (field < 22) {
    pos = rest.find_first_not_of(' ', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++field;
    if (field == 22) break;
    pos = rest.find(' ', pos);
    if (pos == std::string_view::npos) return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(rest.data() + pos, rest.data() + rest.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

bool process_alive(pid_t pid, std::optional<std::uint64_t> start_time) {
  auto st = process_start_time(pid);
  if (!st) return false;
  if (start_time && *st != *start_time) return false;
  // A zombie has ended; it only waits for its parent (an init that reaps
  // late, in a container) to collect its status.
  std::optional<std::string> stat;
  try {
    stat = read_file_if_exists(fmt::format("/proc/{}/stat", pid), 1u << 16);
  } catch (const std::exception&) {
    return false;
  }
  if (!stat) return false;
  const auto close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return true;
  const char state = (*stat)[close + 2];
  return state != 'Z' && state != 'X';
}

std::string boot_id() {
  auto s = read_file_if_exists("/proc/sys/kernel/random/boot_id", 256).value_or("");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace vmu
