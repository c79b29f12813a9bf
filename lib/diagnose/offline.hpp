// The console analysis over a finished (or so-far) console log — the one
// post-mortem entry point (vm-logs-archive's summary, and anything else that
// judges a log after the fact): the same analyzer and verdict vm-wait-ready
// runs live,
// fed line by line with the guest's own clock (the "[   12.345678]" stamps
// of kernel and forwarded journal lines) instead of the host's, and judged
// as final (every grace period has run out).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "diagnose/analysis.hpp"
#include "diagnose/catalog.hpp"
#include "diagnose/verdict.hpp"

namespace vmu::diagnose {

struct OfflineInput {
  std::string_view console;  // the log's bytes, from its start
  std::vector<UnitFacts> units;
  bool vmm_exited = false;  // the VMM ended by itself (not stopped by the caller)
  int vmm_pid = -1;
  std::string vmm_status;  // "gone", "exited with code 1", ...
  std::vector<std::string> vmm_log_tail;
  bool reporter = false;  // the record says a reporter is installed
};

struct OfflineResult {
  Analysis analysis;
  std::optional<Verdict> verdict;  // std::nullopt: nothing on the console says why
  std::int64_t end_ms = 0;         // the guest's last time stamp (ms since its boot)
};

// Feeds the whole log and asks decide() for a final verdict. No probe
// results exist offline: verdicts that need one (port_closed, bad_status,
// network_down from the probe) cannot come out of it.
OfflineResult analyse_offline(const Catalog& catalog, const OfflineInput& in);

// The guest time stamp at the start of a console line ("[   12.345678]",
// after leading spaces), in ms; std::nullopt when there is none.
std::optional<std::int64_t> console_timestamp_ms(std::string_view raw_line);

}  // namespace vmu::diagnose
