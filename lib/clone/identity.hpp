// The golden's identity: filesystem UUID, size, mtime and SHA-256. Hashing a
// multi-GiB golden takes seconds, so the digest is cached in a small JSON
// sidecar keyed by the file's device, inode, size, mtime and ctime: beside
// the golden (`<golden>.vmutils-id.json`) when its folder is writable, else
// in <state>/cache/.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "clone/stop.hpp"
#include "record/record.hpp"
#include "util/progress.hpp"

namespace vmu {

// What must stay the same for a cached digest to still be the file's.
// ctime is in the key because it cannot be set back (`touch -d` can fake
// an mtime, not a ctime).
struct FileKey {
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileKey&) const = default;
};
FileKey file_key(const struct stat& st);

// SHA-256 (OpenSSL EVP) as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
// SHA-256 of the first `size` bytes of an open file, skipping the reads of
// holes. Asks `stop` between chunks; reports "hashing the golden" to
// `progress`.
std::string sha256_file(int fd, std::uint64_t size, const std::filesystem::path& shown_as,
                        const StopFn& stop, const ProgressFn& progress = {});

// The sidecar names.
std::filesystem::path cache_beside(const std::filesystem::path& golden);
std::filesystem::path cache_in(const std::filesystem::path& cache_dir,
                               const std::filesystem::path& golden);

struct Digest {
  std::string sha256;
  bool cached = false;               // read from a sidecar, not hashed now
  std::filesystem::path cache_path;  // where it was read or written (empty: not written)
  std::int64_t hash_ms = 0;          // time spent hashing (0 when cached)
};

// The golden's digest from a sidecar whose key matches `key`, else hashed
// from `fd` and written to a sidecar. Concurrent callers (threads or
// processes) on the same golden hash it once: the others wait on a lock in
// `cache_dir` and then read the sidecar. The file is re-checked after
// hashing; a golden that changed meanwhile is an error (Exit::failed,
// "golden_modified").
// `progress` hears of the hashing only (a digest from a sidecar is at once).
Digest golden_digest(int fd, const std::filesystem::path& golden, const FileKey& key,
                     const std::filesystem::path& cache_dir, const StopFn& stop,
                     const ProgressFn& progress = {});

}  // namespace vmu
