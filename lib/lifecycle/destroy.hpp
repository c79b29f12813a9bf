// vm-destroy's engine: the end of a VM's life, in an order that keeps the
// evidence and never frees an address while its TAP exists:
//   1. stop the VMM (politely, then by signals), only if the record's pid
//      still has the record's start time;
//   2. archive the evidence (by default when the VM failed) through
//      lib/evidence — before anything is removed; a failed archive stops
//      the destroy there and keeps the state, TAP and lease;
//   3. release the network: the TAP deleted and the lease freed through
//      the allocator's release (the record must still be there), the DHCP
//      host file removed;
//   4. remove the run folder (sockets) and the state folder.
// Idempotent: every step copes with what is already gone and says so.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evidence/archive.hpp"
#include "net/lease_store.hpp"
#include "net/netdev.hpp"
#include "record/record.hpp"
#include "state/state.hpp"

namespace vmu::lifecycle {

enum class ArchiveWhen { failed, always, never };
// "failed", "always", "never"; Exit::usage quoting anything else.
ArchiveWhen parse_archive_when(std::string_view s);

struct DestroyOptions {
  ArchiveWhen archive = ArchiveWhen::failed;
  bool keep_state = false;
  // Destroy a VM that vm-wait-ready judged ready, too (otherwise it is
  // passed through untouched).
  bool all = false;
  std::chrono::milliseconds grace{10000};
  evidence::ArchiveOptions archive_opts;  // made_by, out_dir, redact, stop
};

struct DestroyReport {
  bool passed = false;  // a ready VM, left alone
  // What was done, and what was looked for and not found, in order: one
  // line each for stderr.
  struct Event {
    bool done = true;  // false: not found
    std::string text;
  };
  std::vector<Event> events;
  std::optional<evidence::ArchiveResult> archive;
};

// Destroys the VM of `rec` (as given: from stdin, or loaded for an id;
// each tool saves a record before printing it, so both agree). On success `rec` gets a `destroyed`
// section (and an `archive` section when one was made); with keep_state it is saved. Throws
// vmu::Error when a step fails; what was done before stays done and is in the message.
DestroyReport destroy_vm(Record& rec, const State& st, LeaseStore& store, NetDevices& net,
                         const DestroyOptions& opts);

// A VM whose record a power cut emptied (vmnet-alloc does not sync a record
// that holds only a lease: docs/architecture.md, "What must survive what"):
// when vms/<id>/record.json is empty and the folder holds nothing else but
// write_file_atomic's leftovers, removes the folder and returns true; its
// lease and TAP ended with that boot. False when the record is not empty or
// absent; throws (bad_state) when an empty record has company: that folder
// holds what a later tool made and needs a look, not a blind removal.
bool remove_lost_record(const State& st, const std::string& id);

}  // namespace vmu::lifecycle
