// The console analysis: raw console bytes in (as they arrive, or a whole
// finished console.log at once), facts out — milestones with times, the
// first boot failure, what systemd said about each unit that matters, the
// units' own output, warnings, the guest reporter's latest block, the last
// lines. Pure: no clock, no files; the caller passes the time of each
// chunk (ms on its own axis). vm-wait-ready runs it live; vm-logs-archive
// can run the same analysis over a finished log.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "diagnose/catalog.hpp"
#include "diagnose/lines.hpp"
#include "diagnose/reporter.hpp"

namespace vmu::diagnose {

// What is known about a unit that matters, beyond its name: read from the
// unit file in the image when possible.
struct UnitFacts {
  std::string name;                     // "vm-agent.service"
  std::string description;              // Description=, "" when unknown
  std::vector<std::string> idents;      // journal identifiers of its processes
  std::string restart;                  // Restart=; "" when the file was not read
  std::int64_t restart_sec_ms = -1;     // RestartSec=; -1 when unknown
  std::string type;                     // Type=
  std::vector<std::string> enabled_in;  // from the record: "multi-user.target.wants"
  bool in_record = true;                // listed in agent.units (else only by --unit)
  bool from_image = false;
};

// Facts from the name alone: the identifier is the name without its suffix.
UnitFacts facts_from_name(std::string name);
// Adds what a unit file says (Description=, Type=, Restart=, RestartSec=,
// ExecStart='s program name, SyslogIdentifier=).
void add_unit_file(UnitFacts& facts, std::string_view unit_file_text);

struct TimedLine {
  std::int64_t ms = 0;
  std::string text;
};

// What the console says about one unit that matters.
struct UnitState {
  std::string name;
  std::optional<std::int64_t> starting_ms, started_ms;
  std::optional<std::int64_t> ended_ms;  // the current run ended (failed, or exited 0)
  bool restart_pending = false;          // "Scheduled restart job" since the end
  int runs = 0;
  int restarts = 0;  // systemd's restart counter
  bool start_limit = false, oom = false, dependency_failed = false, failed_to_start = false,
       bad_setting = false, deactivated = false;
  std::string result;     // 'exit-code', 'signal', 'timeout', 'oom-kill', ...
  std::string exit_code;  // exited, killed, dumped
  int exit_status = -1;
  std::string exit_name;  // EXEC, FAILURE, KILL
  std::string cause;      // systemd's most specific words: "Failed to locate executable ..."
  std::vector<TimedLine> evidence;  // systemd's lines about the unit
  std::vector<TimedLine> output;    // the unit's own processes' lines (last few)
  bool ever_started() const { return started_ms.has_value(); }
  // Times relative to `start_ms`.
  nlohmann::json to_json(std::int64_t start_ms = 0) const;
};

struct Finding {
  std::string id;      // the catalog id
  std::string reason;  // failure: the verdict reason; warning: its word
  std::string words;
  std::string line;
  std::int64_t ms = 0;
};

struct Event {
  std::int64_t ms = 0;
  Kind kind = Kind::info;
  std::string what;  // milestone name, unit event, reason, "report"
  std::string words;
};

struct Analysis {
  std::map<std::string, std::int64_t> milestones;      // first time each was seen
  std::vector<std::string> milestone_order;            // in the order they were seen
  std::optional<Finding> failure;                      // the first boot failure
  std::vector<Finding> warnings;                       // incl. other units' failures
  std::map<std::string, UnitState> units;              // the units that matter
  std::deque<TimedLine> tail;                          // the last lines (reporter lines left out)
  std::optional<TimedLine> waiting;                    // latest "a start job is running" line
  std::optional<std::int64_t> waiting_for_network_ms;  // first such line about the network
  std::optional<Report> report;                        // the latest complete reporter block
  std::optional<std::int64_t> report_ms, first_report_ms;
  std::uint64_t reports = 0, reports_broken = 0;
  std::optional<TimedLine> ready_on;  // --ready-on matched
  std::string guest_address;          // from "eth0: DHCPv4 address A/P"
  std::optional<std::int64_t> last_line_ms;
  std::uint64_t lines = 0, bytes = 0;

  std::optional<std::int64_t> milestone(const std::string& name) const;
  // The latest milestone reached: {name, ms}.
  std::optional<std::pair<std::string, std::int64_t>> latest_milestone() const;
};

class ConsoleAnalyzer {
 public:
  ConsoleAnalyzer(const Catalog& catalog, std::vector<UnitFacts> units);

  // Raw bytes read at time `ms`.
  void feed(std::string_view bytes, std::int64_t ms);
  // End of input (the VMM is gone, or a whole file was fed): the
  // unterminated last line counts too.
  void finish(std::int64_t ms);
  // The file was truncated and is read again from its start.
  void restart_input();
  // One clean line (tests, and feed()).
  void line(std::string_view clean, std::int64_t ms);

  // Applied by feed() and finish() to every clean line before anything is
  // read from it or kept: vm-wait-ready redacts secrets by value here, so
  // no event, verdict, evidence or quoted line holds one.
  using LineFilter = std::function<std::string(std::string_view clean)>;
  void set_line_filter(LineFilter f) { filter_ = std::move(f); }

  const Analysis& state() const { return a_; }
  const std::vector<UnitFacts>& units() const { return facts_; }
  // Events since the last call, for live output.
  std::vector<Event> take_events();

 private:
  void on_unit_event(const Match& m, std::string_view line, std::int64_t ms);
  // The unit a status line's subject names ("NAME - Desc", "Desc", "NA…ME").
  const UnitFacts* resolve(std::string_view subject) const;
  const UnitFacts* by_ident(std::string_view ident) const;
  void warn(const Match& m, std::string_view line, std::int64_t ms, std::string reason);
  void event(std::int64_t ms, Kind kind, std::string what, std::string words);

  const Catalog& catalog_;
  std::vector<UnitFacts> facts_;
  LineAssembler asm_;
  ReporterParser reporter_;
  Analysis a_;
  std::vector<Event> events_;
  LineFilter filter_;
};

// systemd's "Foo[123]: message" or "(foo)[123]: message" journal prefix
// of a forwarded line: {identifier without parentheses, message}.
std::optional<std::pair<std::string, std::string>> journal_source(std::string_view line);

}  // namespace vmu::diagnose
