// The state layout (DESIGN.md, "State layout"):
//   <state>/leases/<pool>.json, vms/<id>/{record.json,rootfs.ext4,console.log,vmm.log}, archive/
//   <run>/<id>/ for sockets.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "record/record.hpp"
#include "util/fs.hpp"

namespace vmu {

namespace fs = std::filesystem;

// The largest record file accepted.
inline constexpr std::size_t kMaxRecordBytes = 1u << 20;

// How long a tool waits for a lock before it gives up (exit 1). Generous:
// a lock is held for milliseconds, but 64 allocators on a loaded 2-core
// machine queue for seconds, and flock wakes waiters in no fair order.
inline constexpr std::chrono::milliseconds kLockDeadline{30000};

// The mode of every folder vmutils makes in the state folder: VM disks hold
// injected secrets, so not world-readable (it was 0755 from one tool and
// 0750 from another).
inline constexpr mode_t kStateDirMode = 0750;
// Somewhere else that keeps a copy of every saved record (etcd, when the
// lease store is shared by hosts: net/etcd_store.hpp), so that the fleet can
// be listed from any host. Optional: a State without one saves locally only.
class RecordRegistry {
 public:
  virtual ~RecordRegistry() = default;
  virtual void put(const Record& r) = 0;
  virtual void remove(const std::string& id) = 0;
};

class State {
 public:
  // Resolves the folders: `state_dir` (the --state-dir flag) if given, else
  // $VMUTILS_STATE_DIR, else /var/lib/vmutils for root and
  // $XDG_STATE_HOME/vmutils (~/.local/state/vmutils) otherwise. The run
  // folder: $VMUTILS_RUN_DIR, else /run/vmutils for root and
  // $XDG_RUNTIME_DIR/vmutils (/tmp/vmutils-<uid>) otherwise.
  static State resolve(const std::optional<std::string>& state_dir);
  State(fs::path state, fs::path run) : root_(std::move(state)), run_(std::move(run)) {}

  const fs::path& root() const { return root_; }
  const fs::path& run_root() const { return run_; }
  fs::path leases_dir() const { return root_ / "leases"; }
  fs::path vms_dir() const { return root_ / "vms"; }
  fs::path archive_dir() const { return root_ / "archive"; }
  fs::path vm_dir(const std::string& id) const { return vms_dir() / id; }
  fs::path record_path(const std::string& id) const { return vm_dir(id) / "record.json"; }
  fs::path rootfs_path(const std::string& id) const { return vm_dir(id) / "rootfs.ext4"; }
  fs::path console_log(const std::string& id) const { return vm_dir(id) / "console.log"; }
  fs::path vmm_log(const std::string& id) const { return vm_dir(id) / "vmm.log"; }
  fs::path run_dir(const std::string& id) const { return run_ / id; }

  bool exists(const std::string& id) const;
  // Loads vms/<id>/record.json; an unknown id is bad input (exit 2).
  Record load(const std::string& id) const;
  std::optional<Record> load_if_exists(const std::string& id) const;
  // Saves the record atomically (temp, fsync, rename, fsync the folder),
  // creating its folder, then hands it to the registry, if there is one. A
  // record is evidence and survives a power cut; only one that holds nothing
  // but what dies with the host's boot (vmnet-alloc's: a lease and a TAP)
  // is saved Survives::killed_process.
  void save(const Record& r, Survives survives = Survives::power_cut) const;
  // Creates vms/<id>/ (and the folders above it) with kStateDirMode.
  void make_vm_dir(const std::string& id) const;
  void set_registry(std::shared_ptr<RecordRegistry> r) { registry_ = std::move(r); }
  RecordRegistry* registry() const { return registry_.get(); }
  // The ids with a state folder, sorted.
  std::vector<std::string> list_ids() const;

  // A file a record names (rootfs.path; console logs and others for later
  // tools). A record is data that may come from elsewhere, so a path in it
  // is used only when its real path (symlinks resolved, relative paths from
  // the current folder) is a regular file under vms/<id>/ of this state
  // folder; a path the operator gives on the command line is not checked
  // here. Returns the real path. Throws Exit::usage naming the record, the
  // `field` and the path: "not_found" when it does not exist, else
  // "untrusted_path" (another VM's disk, a golden, /etc/shadow, a folder).
  fs::path trusted_record_file(const Record& rec, std::string_view field,
                               const fs::path& path) const;

 private:
  fs::path root_;
  fs::path run_;
  std::shared_ptr<RecordRegistry> registry_;
};

}  // namespace vmu
