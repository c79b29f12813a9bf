// summary.txt: what a person reads first when opening an archive — the
// verdict and its evidence (vm-wait-ready's, when it judged the VM, and the
// same analysis run again over the archived console), the milestones the
// guest reached, the units that matter, the preflight, the journal, the
// host's view of the network, what could not be collected, and what to
// look at next (commands). Pure: everything comes in as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diagnose/offline.hpp"
#include "inspect/check.hpp"
#include "net/hoststate.hpp"

namespace vmu::evidence {

struct Missing {
  std::string item;
  std::string why;
};

struct SummaryInput {
  std::string id;
  std::string made_at;  // RFC 3339
  std::string made_by;  // "vm-logs-archive 0.1.0"
  nlohmann::json record;
  std::string vmm_state;  // "running", "exited (found gone)", "stopped by vm-destroy (powerdown)"
  std::optional<diagnose::OfflineResult> console;  // the offline analysis
  std::uint64_t console_bytes = 0;                 // the size archived
  std::uint64_t console_judged = 0;                // the part analysed
  std::optional<std::size_t> failure_line;         // 1-based line of console.log
  std::vector<inspect::Finding> preflight;         // for the agent units
  std::vector<std::string> units;                  // agent units
  std::optional<std::uint64_t> journal_entries;    // std::nullopt: not collected
  std::optional<LinkState> tap;
  std::optional<Neighbour> neighbour;
  std::string ip;
  std::string rootfs;       // the image path
  bool rootfs_kept = true;  // false: vm-destroy is about to remove it
  std::string image_note;   // how the image was read
  std::vector<std::string> members;
  std::vector<Missing> missing;
  std::vector<std::string> redacted_keys, short_keys, absent_keys;
  std::uint64_t replacements = 0;
};

std::string compose_summary(const SummaryInput& in);

}  // namespace vmu::evidence
