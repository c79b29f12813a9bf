// Stopping a VM: politely through its VMM first (QEMU: QMP system_powerdown,
// then quit; Firecracker: SendCtrlAltDel), then SIGTERM, then SIGKILL — and
// only the process the record names: a pid whose start time differs is
// another process and is never signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "record/record.hpp"
#include "vmm/config.hpp"

namespace vmu::vmm {

struct StopRequest {
  Backend backend = Backend::qemu;
  pid_t pid = -1;
  std::optional<std::uint64_t> start_time;
  fs::path control_socket;  // QMP or the Firecracker API; empty: signals only
  // How long the guest gets to power off, and the VMM to end after
  // SIGTERM, before the next step.
  std::chrono::milliseconds grace{10000};
  // The serial console log. A guest that acts on the power button (or
  // Ctrl+Alt+Del) starts printing its shutdown at once; one that ignores
  // it (no logind or acpid, as in a minbase Debian) stays silent. When the
  // console gets no byte for `quiet` after the request, the guest is taken
  // to ignore it and the next step comes without waiting out the grace.
  fs::path console;
  std::chrono::milliseconds quiet{3000};
};

// From the record's vmm section; std::nullopt when it names no pid.
std::optional<StopRequest> stop_request(const Record& rec);

enum class StopHow {
  not_running,   // no such process (it exited, or was never started)
  pid_reused,    // the pid runs, but is another process (its start time differs)
  powerdown,     // the guest powered off (QMP system_powerdown)
  ctrl_alt_del,  // the guest rebooted, so Firecracker exited (SendCtrlAltDel)
  quit,          // QEMU quit through QMP
  sigterm,
  sigkill,
};
std::string_view stop_word(StopHow how);  // "not_running", "powerdown", ...

struct StopOutcome {
  StopHow how = StopHow::not_running;
  std::vector<std::string> steps;  // what was tried, in words, for stderr
  std::chrono::milliseconds took{0};
};

// Stops the VMM. Throws Exit::failed when it is still there after SIGKILL
// (a process stuck in the kernel) or cannot be signalled (EPERM).
StopOutcome stop_vm(const StopRequest& req);

}  // namespace vmu::vmm
