// Processes as the kernel sees them: identity that survives pid reuse, and
// the boot we are in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vmu {

// Start time of `pid` in clock ticks since boot (field 22 of
// /proc/<pid>/stat); std::nullopt when no such process exists. A pid plus
// its start time names one process, even after the pid is reused.
std::optional<std::uint64_t> process_start_time(pid_t pid);

// True when `pid` runs and, if `start_time` is given, is the same process.
// A zombie (ended, not yet reaped by its parent) does not run.
bool process_alive(pid_t pid, std::optional<std::uint64_t> start_time);

// /proc/sys/kernel/random/boot_id: changes on every boot of the host.
std::string boot_id();

}  // namespace vmu
