// Launching a VM: from a record and the caller's choices to a running VMM,
// detached, with its console captured from the first byte and the rootfs
// lock held for exactly as long as the VMM lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/state.hpp"
#include "vmm/config.hpp"
#include "vmm/firecracker.hpp"

namespace vmu::vmm {

// What the caller chose (fc-launch's options).
struct LaunchRequest {
  Backend backend = Backend::firecracker;
  fs::path vmm_binary;  // resolved path of firecracker / qemu-system-x86_64
  fs::path kernel;
  std::optional<fs::path> initrd;
  std::optional<std::string> boot_args;  // replaces the defaults
  std::string append_boot_args;          // added to them
  unsigned vcpus = 1;
  unsigned mem_mib = 512;
  AccelChoice accel = AccelChoice::auto_;
  NetConfig net = NetConfig::dhcp;
  bool journal_console = true;
  std::string journal_level = "info";
  std::chrono::milliseconds start_timeout{10000};  // socket / QMP readiness
  bool (*stop)() = nullptr;                        // asked while waiting (SIGINT)
};

// Everything decided before anything starts.
struct Plan {
  Backend backend = Backend::firecracker;
  Accel accel = Accel::kvm;
  VmSpec spec;
  fs::path console_log;
  fs::path vmm_log;
  fs::path run_dir;
  fs::path control_socket;  // API socket or QMP socket
  std::vector<std::string> argv;
  std::vector<ApiRequest> requests;  // firecracker only

  // The --dry-run document: {"id","backend","accel","argv",["requests"],...}.
  Json dry_run_json() const;
};

// Builds the plan from a record. Throws Exit::usage for bad input: no
// rootfs in the record, --net-config kernel without an address, a socket
// path too long for a Unix socket. Touches nothing; checks no file.
// `host_tsc` is used under TCG (std::nullopt: read from the host).
Plan make_plan(const Record& rec, const LaunchRequest& req, const State& state,
               std::optional<std::uint64_t> host_tsc = std::nullopt);

// The bad-input checks (Exit::usage), done before anything starts: kernel,
// initrd and rootfs exist and are readable files, the rootfs is not in use
// (its lock is free), the TAP exists here (in this network namespace) and
// is a TAP — unless `check_tap` is false (a dry run, planned elsewhere).
void check_inputs(const Plan& plan, bool check_tap = true);

// Refuses (Exit::usage, "unsynced_clone") a record whose clone was not
// synced (rootfs.synced false) and was made in another host boot than
// `current_boot` (rootfs.boot_id): a host crash may have lost part of it.
// make_plan calls it with this host's boot id.
void check_clone_durable(const Record& rec, const std::string& current_boot);

// The record's `vmm` section (DESIGN.md).
struct VmmInfo {
  Backend backend = Backend::firecracker;
  Accel accel = Accel::kvm;
  pid_t pid = -1;
  std::uint64_t start_time = 0;
  fs::path console_log, log, control_socket, kernel;
  std::optional<fs::path> initrd;
  std::string boot_args;
  unsigned vcpus = 1, mem_mib = 0;
  Json to_json() const;
};

// Starts the VM of `plan`: takes the rootfs lock and hands it to the VMM,
// keeps the previous console/VMM logs as *.1, spawns the VMM detached and
// waits (inotify + deadline) for its control socket; for Firecracker sends
// the API requests, for QEMU checks through QMP that the VM runs. On any
// failure the VMM is stopped (SIGTERM, then SIGKILL), the logs are kept,
// and Exit::failed is thrown naming the step (an API error quotes
// Firecracker's fault_message; an early exit quotes the VMM log's end).
VmmInfo launch(const Plan& plan, const LaunchRequest& req);

// The last `max_lines` lines (at most 2 KiB) of a log file, for messages.
std::string log_tail(const fs::path& log, std::size_t max_lines = 5);

}  // namespace vmu::vmm
