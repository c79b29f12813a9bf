// Growing a clone: the file (ftruncate, sparse) and then its filesystem
// (resize2fs from e2fsprogs, run with an argv, never through a shell).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "clone/stop.hpp"

namespace vmu {

// "2G", "1536M", "512MiB", "1073741824": binary units (K, M, G, T, with an
// optional "iB"/"B"). Throws Exit::usage quoting `s` when malformed, zero or
// not a multiple of `multiple` bytes (1 KiB by default: resize2fs works in
// KiB at best; 1 for a plain byte count such as vm-logs-archive
// --max-bytes). The message names `what` (the option); with an empty
// `what` it starts with the value. The one size parser of vmutils.
std::uint64_t parse_size(std::string_view s, std::string_view what = "--size",
                         std::uint64_t multiple = 1024);

struct CommandResult {
  int status = 0;      // exit status, or 128 + signal
  std::string output;  // its stderr (and stdout), at most 64 KiB kept
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null and stdout and
// stderr captured. `stop` is asked while it runs; when it turns true the
// child gets SIGTERM and Exit::interrupted is thrown. A program that cannot
// be started is Exit::failed naming it.
CommandResult run_command(const std::vector<std::string>& argv, const StopFn& stop);

// Grows the unmounted image `image` (open as `fd`) to `new_size` bytes: the
// filesystem is checked first (e2fsck -f -p, which resize2fs insists on),
// then the file is extended and resize2fs fills it. Throws Exit::guest_failed
// when the check finds damage, Exit::exhausted when the space runs out,
// Exit::failed with resize2fs's message otherwise.
void grow_image(const std::filesystem::path& image, int fd, std::uint64_t new_size,
                const StopFn& stop);

}  // namespace vmu
