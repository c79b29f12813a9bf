// Progress of long work, reported by library code through a callback: the
// library never prints; a tool turns the events into a line on a terminal
// (lib/cli/progress.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace vmu {

struct ProgressEvent {
  std::string_view step;     // what is done, e.g. "hashing the golden", "copying"
  std::string_view subject;  // what it is done to, e.g. a path
  std::uint64_t done = 0;    // bytes done so far
  std::uint64_t total = 0;   // bytes in all
};

// Called with done == 0 before a step starts (so a tool can say what comes
// before it takes long), then as it goes (about every few MiB), and with
// done == total when the step is complete. Empty: nobody asked.
using ProgressFn = std::function<void(const ProgressEvent&)>;

inline void report(const ProgressFn& fn, std::string_view step, std::string_view subject,
                   std::uint64_t done, std::uint64_t total) {
  if (fn) fn(ProgressEvent{step, subject, done, total});
}

}  // namespace vmu
