// rootfs-clone: the VM's rootfs.ext4 as a copy of a golden ext2/3/4 image.
//
// Phases: check the golden (regular file, ext2/3/4, not mounted, not in use,
// journal clean), identify it (UUID, size, mtime, cached SHA-256), copy it
// into a temporary file in the VM's folder (reflink or sparse copy), grow it,
// give it its own /etc/machine-id, fsync, and only then rename it to
// rootfs.ext4. Any failure or interruption removes the temporary file, so
// there is never a partial rootfs.ext4.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "clone/copy.hpp"
#include "clone/stop.hpp"
#include "record/record.hpp"
#include "state/state.hpp"

namespace vmu {

struct CloneOptions {
  std::filesystem::path golden;
  CloneMethod method = CloneMethod::automatic;
  std::optional<std::string> expect_digest;  // SHA-256, hex
  bool keep_machine_id = false;
  std::optional<std::uint64_t> size;  // grow the clone to this many bytes
  bool force = false;                 // replace an existing (unused) rootfs.ext4
};

// What happened, for the tool to tell the user.
struct CloneResult {
  std::filesystem::path path;
  CloneMethod used = CloneMethod::copy;  // reflink or copy
  std::string no_reflink_reason;         // why auto did not reflink ("" if it did or was not asked)
  bool read_write = false;               // the copy fell back to read/write
  std::uint64_t bytes_copied = 0;
  std::int64_t elapsed_ms = 0;
  bool digest_cached = false;
  std::filesystem::path digest_cache;  // sidecar read or written
  std::int64_t hash_ms = 0;
  bool grown = false;
};

// Clones the golden for record `rec` into st.rootfs_path(rec.id()) and puts
// the record's `rootfs` section:
//   {"path","golden","golden_sha256","golden_uuid","golden_size",
//    "golden_mtime","method","bytes_copied","elapsed_ms"[,"size"]}
// Exit codes of the errors: 1 copy or environment failed (incl. --method
// reflink where it cannot be done), 2 bad golden / bad options / clone in
// use or present without `force`, 4 the golden's digest is not the expected
// one ("golden_changed"), 5 disk full, 130 interrupted.
CloneResult clone_rootfs(Record& rec, const State& st, const CloneOptions& opts,
                         const StopFn& stop);

// Checks and normalises a --expect-digest value (64 hex digits, any case).
std::string normalise_digest(std::string_view s);

}  // namespace vmu
