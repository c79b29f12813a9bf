// The state of a VM as vm-ls shows it: from its record and a live check of
// its VMM (the record's pid with its start time, so a reused pid is not
// taken for the VMM).
//
//   created  allocated (maybe cloned, injected), never launched: no vmm section
//   running  the VMM runs, no verdict yet
//   ready    vm-wait-ready found it ready and the VMM runs
//   failed   the record has an `error`, or a not-ready verdict (ready.ok false);
//            whether the VMM still runs is in `vmm_alive`
//   exited   launched, not failed, and the VMM is gone
//   stale    the state folder has no readable record (partly written or
//            damaged), or the record is from an earlier boot of the host
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "record/record.hpp"
#include "state/state.hpp"
#include "util/time.hpp"

namespace vmu::lifecycle {

enum class VmState { created, running, ready, failed, exited, stale };
std::string_view state_word(VmState s);

struct VmStatus {
  std::string id;
  VmState state = VmState::stale;
  // failed: the error's or the verdict's reason; exited: "vmm_gone";
  // stale: "no_record", "bad_record", "earlier_boot".
  std::string reason;
  std::string problem;  // stale: why the record could not be read
  bool vmm_alive = false;
  pid_t pid = -1;
  std::string ip, tap, backend, console, created;
  std::optional<std::int64_t> age_s;
  std::optional<Record> record;
  // vm-ls --all-hosts: the host that mirrored the record; `remote` when
  // that is another host, whose VMM cannot be checked from here.
  std::string host;
  bool remote = false;

  // One row for the table and for JSON Lines: id, state, address, tap,
  // backend, pid, vmm_alive, age, age_s, reason, console, created.
  nlohmann::json row() const;
  // vm-ls ID: the record with this live state as "status".
  nlohmann::json full() const;
};

// Pure: the record (or why there is none), whether its VMM runs, the
// host's boot id and the time.
VmStatus classify(const std::string& id, const std::optional<Record>& rec,
                  const std::string& problem, bool vmm_alive, const std::string& boot, SysTime now);

// Reads vms/<id>/record.json and checks the VMM. Never throws for a bad
// record (that VM is stale); an invalid id is Exit::usage.
VmStatus status_of(const State& st, const std::string& id);
// Every VM of the state folder, by id.
std::vector<VmStatus> list_vms(const State& st);
// Another host's VM, from the copy of its record in the shared store: its
// state as the record says (failed, ready, running once launched, created),
// the VMM not checked (vmm_alive null in the row).
VmStatus status_of_mirrored(const std::string& id, const std::string& host, const Record& rec);

// "45s", "12m", "3h", "2d".
std::string format_age(std::int64_t seconds);

// A record with an `error`, or a verdict that is not ready.
bool record_failed(const Record& r);
// A record vm-wait-ready judged ready (and nothing failed it).
bool record_ready(const Record& r);

}  // namespace vmu::lifecycle
