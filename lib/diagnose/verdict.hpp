// The verdict: a pure function of what the console analysis found, what
// the health probe saw, what happened to the VMM, and the time. No clock,
// no I/O, so it is tested with a fake clock and can be evaluated post
// mortem over a finished console log (`final`: no more lines will come,
// every grace period has run out).
//
// Reasons (exit code): ready (0); timeout (3); and, exit 4: unit_failed,
// unit_crash_loop, unit_not_started, oom, port_closed, bad_status,
// network_down, kernel_panic, no_init, no_root_fs, initrd_failed,
// init_crashed, emergency_mode, boot_stalled, vmm_exited, fail_on.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diagnose/analysis.hpp"
#include "util/error.hpp"

namespace vmu::diagnose {

// How a probe attempt ended.
enum class Outcome { none, ok, http_status, refused, unreachable, timeout, reset, other };
std::string_view outcome_word(Outcome o);

// What the health probe saw so far (times on the analysis' axis).
struct ProbeState {
  std::string url;  // "http://10.0.0.2:8080/health"
  std::string ip, tap, bridge;
  int port = 8080;
  std::string expect = "200";  // the expected status, as given
  std::uint64_t attempts = 0;
  std::optional<std::int64_t> ok_ms;  // first answer with an expected status
  int ok_status = 0;
  Outcome last = Outcome::none;
  std::optional<std::int64_t> last_ms;
  std::optional<std::int64_t> in_flight_ms;  // a probe has been running since
  std::optional<std::int64_t> now_ms;        // when describe() is asked (for "since")
  int last_errno = 0;
  int last_http = 0;
  std::string last_detail;                          // curl's words for `other`
  std::optional<std::int64_t> refused_since_ms;     // the current run of refusals began
  std::optional<std::int64_t> bad_status_since_ms;  // the current run of 4xx answers began
  std::uint64_t refused = 0, unreachable = 0, timeouts = 0, http_errors = 0;
  bool ever_answered = false;  // the guest's TCP stack answered (refused or HTTP)
  // Host-side evidence, refreshed on failures: the bridge's neighbour
  // entry for ip ("REACHABLE", "FAILED", "INCOMPLETE", ...; "" none) and
  // the TAP's counters (rx = frames the guest sent).
  std::string neighbour;
  std::optional<std::uint64_t> tap_rx_packets, tap_tx_packets;
  std::optional<std::uint64_t> tap_rx_at_start;

  // The last error in words, with the host-side evidence.
  std::string describe() const;
  nlohmann::json to_json() const;
};

struct VmmState {
  bool watched = false;  // a pid (and pidfd) to watch
  int pid = -1;
  bool exited = false;
  std::optional<std::int64_t> exited_ms;
  std::string status;  // "exit status unknown (not our child)", "exited with code 1"
  std::vector<std::string> log_tail;
};

// Grace periods (ms); vm-wait-ready(1) documents them and --grace sets them.
struct Graces {
  std::int64_t settle = 800;             // a unit failed: wait for a restart to be scheduled
  std::int64_t settle_no_restart = 250;  // ... when its Restart=no is known
  std::int64_t unit_start = 5000;        // multi-user reached, agent unit not started
  std::int64_t boot_finished = 2000;     // "Startup finished", agent unit not started
  std::int64_t network = 15000;          // multi-user reached, no network
  std::int64_t network_early = 30000;    // the boot waits for the network, no network
  std::int64_t port = 20000;             // unit running, connection refused
  std::int64_t port_reporter = 3000;     // ... when the reporter shows why
  std::int64_t stalled = 60000;          // console silent before multi-user
};
// "settle", "unit_start", ... -> the field; nullptr for an unknown name.
std::int64_t* grace_field(Graces& g, std::string_view name);
std::vector<std::string_view> grace_names();

struct DecideConfig {
  Graces graces;
  std::int64_t start_ms = 0;  // the wait began
  std::int64_t deadline_ms = std::numeric_limits<std::int64_t>::max();
  int crash_loop_restarts = 3;
  bool console = true;    // a console log is followed
  bool reporter = false;  // the record says a reporter is installed
};

struct Verdict {
  bool ok = false;
  std::string reason;  // "ready", "unit_failed", ...
  Exit code = Exit::ok;
  std::string unit;
  std::string message;   // one line an operator can act on
  std::string expected;  // silent failures: what was expected and not seen
  std::vector<std::string> evidence;
  std::int64_t at_ms = 0;
};

struct Decision {
  std::optional<Verdict> verdict;
  // Nothing decided: decide again at this time at the latest.
  std::int64_t recheck_ms = std::numeric_limits<std::int64_t>::max();
};

Decision decide(const Analysis& a, const std::vector<UnitFacts>& units, const ProbeState& p,
                const VmmState& v, const DecideConfig& cfg, std::int64_t now, bool final = false);

// The record's `ready` section.
nlohmann::json ready_json(const Verdict& v, const Analysis& a, const ProbeState& p,
                          const VmmState& vmm, const DecideConfig& cfg);

}  // namespace vmu::diagnose
