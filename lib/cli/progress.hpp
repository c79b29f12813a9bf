// Progress for operators, from the library's progress events
// (util/progress.hpp), through Log:
//   before a step, one event line (also in pipes; not with -q):
//     "rootfs-clone: vm-1: hashing the golden '/srv/golden.ext4' (1.0 GiB)"
//   while it runs, a live line on a terminal only (never in pipes or -q):
//     "vm-1: hashing the golden: 312.0 MiB of 1.0 GiB, 210 MiB/s, ETA 3 s"
// Each key (a VM) has its own live line, so several VMs worked on at once
// show several lines; a key's line goes when its step ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/log.hpp"
#include "util/progress.hpp"

namespace vmu::cli {

// A ProgressFn for the library, for the VM `key` ("" for the tool's own
// work). Steps of fewer than `min_bytes` bytes are not mentioned at all.
// The live line is redrawn at most five times a second.
ProgressFn progress_reporter(Log& log, std::string key, std::uint64_t min_bytes = 0);

// "1.0 GiB", "312.0 MiB", "512 B".
std::string human_bytes(std::uint64_t bytes);
// "312.0 MiB of 1.0 GiB, 210 MiB/s, ETA 3 s" (rate and ETA once known).
std::string progress_text(std::uint64_t done, std::uint64_t total,
                          std::chrono::duration<double> elapsed);

}  // namespace vmu::cli
