// Files: bounded reads, atomic replacement, directories.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/fd.hpp"

namespace vmu {

namespace fs = std::filesystem;

// Opens a regular file (`flags`: O_RDONLY or O_RDWR, O_CLOEXEC added) without
// ever blocking on something else: the open is O_NONBLOCK, then fstat, then
// blocking mode is restored. A FIFO as --golden or --env-file hung the tools
// holding an image open. A missing file, a folder, a FIFO, a device or a
// socket is Exit::usage ("not_found", "not_regular_file") naming `what`
// ("--env-file", "image") and the path; other errors are Exit::failed.

Fd open_regular(const fs::path& path, int flags, std::string_view what);
// The same check without keeping the file open (for a library that opens by
// name, e.g. ext2fs_open): regular, or the same refusal.
void require_regular(const fs::path& path, std::string_view what);

// Reads a whole file, refusing one larger than `limit` bytes (Exit::usage:
// the file is input a user controls). Throws on any error.
std::string read_file(const fs::path& path, std::size_t limit = 16u << 20);

// As read_file, but std::nullopt when the file does not exist. Both refuse
// what is not a regular file (open_regular).
std::optional<std::string> read_file_if_exists(const fs::path& path, std::size_t limit = 16u << 20);

// Writes all of `data` to `fd` (retrying short writes and EINTR); ENOSPC and
// EDQUOT are Exit::exhausted. `path` names the file in the error.
void write_all(int fd, std::string_view data, const fs::path& path);

// Observes the phases of write_file_atomic (tests use it to crash mid-write).
using WriteHook = std::function<void(std::string_view phase)>;

// What a write must survive. A killed process can never leave a mix of old
// and new contents (the rename does that); a power cut can only be survived
// by fsyncs, which cost most of a small write on a disk. Data that belongs to
// one boot of the host (leases, TAPs, dnsmasq host files, a record that holds
// only those) need not survive the boot: docs/architecture.md, "What must
// survive what".
enum class Survives { power_cut, killed_process };

// Replaces `path` with `data` so that a reader, or a crash at any instant,
// sees either the old or the new contents, never a mix: write a temporary
// file in the same folder, fsync it, rename it over `path`, fsync the folder
// (the fsyncs only for Survives::power_cut; after a power cut a
// killed_process file may be missing or empty).
// Phases passed to `hook`: "temp-partial" (half the data written),
// "temp-synced", "renamed".
void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode = 0644,
                       const WriteHook& hook = {}, Survives survives = Survives::power_cut);

// Removes temporary files that write_file_atomic left behind in `dir` when
// a writer was killed (names ".<name>.tmp.*"). Call under the lock that
// serialises the writers.
void remove_stale_temps(const fs::path& dir, std::string_view name);

// mkdir -p, with `mode` for the folders it creates.
void make_dirs(const fs::path& path, mode_t mode = 0755);

// fsync of a folder, so a rename or unlink in it is durable.
void sync_dir(const fs::path& dir);

}  // namespace vmu
