// rootfs-clone: the VM's rootfs.ext4 as a copy of a golden ext2/3/4 image.
//
// Phases: check the golden (regular file, ext2/3/4, not mounted, not in use,
// journal clean), identify it (UUID, size, mtime, cached SHA-256), copy it
// into a temporary file in the VM's folder (reflink or sparse copy), grow it,
// give it its own /etc/machine-id, and only then rename it to rootfs.ext4.
// Any failure or interruption of the process (error, disk full, signal,
// kill -9) leaves at most the temporary file, never a partial rootfs.ext4.
//
// Durability: by default nothing is fsynced, like cp. A clone only serves
// the host boot that made it (after a host crash its VM is recreated), and
// its record says which boot that was ("boot_id") and "synced": false, so a
// later tool can refuse an unsynced clone from an earlier boot (whose data
// may not have reached the disk). With `sync` the clone is fsynced before
// the rename and its folder after it: a rootfs.ext4 then survives a host
// crash whole.
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
  bool sync = false;                  // fsync the clone before the rename, its folder after
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
  bool synced = false;  // fsynced (sync asked for, or no boot id to tie the clone to)
};

// Clones the golden for record `rec` into st.rootfs_path(rec.id()) and puts
// the record's `rootfs` section:
//   {"path","golden","golden_sha256","golden_uuid","golden_size",
//    "golden_mtime","method","bytes_copied","elapsed_ms"[,"size"],
//    "boot_id","synced"}
// "boot_id" is the host's boot id (/proc/sys/kernel/random/boot_id) when
// the clone was made; "synced" whether it was fsynced before the rename.
// Without a boot id (no /proc) the clone is synced whatever `sync` says.
// Exit codes of the errors: 1 copy or environment failed (incl. --method
// reflink where it cannot be done), 2 bad golden / bad options / clone in
// use or present without `force`, 4 the golden's digest is not the expected
// one ("golden_changed"), 5 disk full, 130 interrupted.
// `progress` hears the slow steps: "hashing the golden" (when no cached
// digest matches) and "copying" (not for a reflink).
CloneResult clone_rootfs(Record& rec, const State& st, const CloneOptions& opts, const StopFn& stop,
                         const ProgressFn& progress = {});

// Checks and normalises a --expect-digest value (64 hex digits, any case).
std::string normalise_digest(std::string_view s);

}  // namespace vmu
