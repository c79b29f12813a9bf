#include "diagnose/analysis.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "inspect/systemd.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace vmu::diagnose {

namespace {

constexpr std::size_t kTailLines = 40;
constexpr std::size_t kUnitEvidence = 16;
constexpr std::size_t kUnitOutput = 8;
constexpr std::size_t kMaxWarnings = 20;
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // "…", systemd's cut mark

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// "pre…post" (a name or description systemd cut to fit 80 columns) against
// the full text.
bool ellipsized_match(std::string_view cut, std::string_view full) {
  const auto e = cut.find(kEllipsis);
  if (e == std::string_view::npos) return false;
  const std::string_view pre = cut.substr(0, e), post = cut.substr(e + kEllipsis.size());
  if (pre.size() + post.size() == 0 || pre.size() + post.size() > full.size()) return false;
  return starts_with(full, pre) && ends_with(full, post);
}

// "Wait for Network to be Configured", "systemd-networkd-wait-online.service",
// "network-online.target", ifupdown's "Raise network interfaces": a boot held
// up by its network. Not the start of the network daemon itself
// ("Job systemd-networkd.service/start running", "Network Configuration"):
// that is slow only when the guest is starved of CPU, which a loaded host
// does to a whole TCG boot (seen in the e2e suite: networkd took 45 s to
// start, then configured eth0 at once).
bool mentions_network(std::string_view s) {
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w :
       {"wait-online", "wait for network", "network-online", "raise network", "networking.service"})
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

void push_bounded(std::vector<TimedLine>& v, std::int64_t ms, std::string_view text,
                  std::size_t max) {
  for (const auto& l : v)
    if (l.text == text) return;
  if (v.size() >= max) v.erase(v.begin());
  v.push_back({ms, std::string(text)});
}

std::string unit_suffix_stripped(std::string_view name) {
  const auto dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(0, dot));
}

}  // namespace

UnitFacts facts_from_name(std::string name) {
  UnitFacts f;
  f.idents.push_back(unit_suffix_stripped(name));
  f.name = std::move(name);
  return f;
}

void add_unit_file(UnitFacts& f, std::string_view text) {
  inspect::UnitConfig cfg;
  cfg.add_file(text, f.name);
  f.from_image = true;
  if (auto* s = cfg.last("Unit", "Description")) f.description = s->value;
  f.type = cfg.last("Service", "Type") ? cfg.last("Service", "Type")->value : "simple";
  f.restart = cfg.last("Service", "Restart") ? cfg.last("Service", "Restart")->value : "no";
  f.restart_sec_ms = 100;  // systemd's default RestartSec=
  if (auto* s = cfg.last("Service", "RestartSec")) {
    try {
      f.restart_sec_ms = parse_duration(s->value, "RestartSec=").count();
    } catch (const Error&) {
      f.restart_sec_ms = -1;  // "1min 30s" and friends: unknown, the defaults apply
    }
  }
  auto add_ident = [&](std::string id) {
    if (!id.empty() && std::find(f.idents.begin(), f.idents.end(), id) == f.idents.end())
      f.idents.push_back(std::move(id));
  };
  for (const auto* s : cfg.all("Service", "ExecStart"))
    if (auto cmd = inspect::parse_exec(s->value)) {
      const auto slash = cmd->path.rfind('/');
      add_ident(slash == std::string::npos ? cmd->path : cmd->path.substr(slash + 1));
    }
  if (auto* s = cfg.last("Service", "SyslogIdentifier")) add_ident(s->value);
}

nlohmann::json UnitState::to_json(std::int64_t start_ms) const {
  nlohmann::json j = nlohmann::json::object();
  std::string state = "not_started";
  if (start_limit || restarts >= 3)
    state = "crash_loop";
  else if (ended_ms && restart_pending)
    state = "restarting";
  else if (ended_ms || failed_to_start || dependency_failed || bad_setting)
    state = deactivated && exit_status <= 0 && result.empty() ? "exited" : "failed";
  else if (started_ms)
    state = "running";
  else if (starting_ms)
    state = "starting";
  j["state"] = state;
  auto rel = [&](std::int64_t t) { return std::max<std::int64_t>(t - start_ms, 0); };
  if (starting_ms) j["starting_ms"] = rel(*starting_ms);
  if (started_ms) j["started_ms"] = rel(*started_ms);
  if (ended_ms) j["ended_ms"] = rel(*ended_ms);
  if (runs) j["runs"] = runs;
  if (restarts) j["restarts"] = restarts;
  if (!result.empty()) j["result"] = result;
  if (exit_status >= 0)
    j["exit"] = fmt::format("{}, status={}/{}", exit_code, exit_status, exit_name);
  if (!cause.empty()) j["cause"] = cause;
  return j;
}

std::optional<std::int64_t> Analysis::milestone(const std::string& name) const {
  auto it = milestones.find(name);
  if (it == milestones.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<std::string, std::int64_t>> Analysis::latest_milestone() const {
  if (milestone_order.empty()) return std::nullopt;
  const std::string& name = milestone_order.back();
  return std::pair{name, milestones.at(name)};
}

std::optional<std::pair<std::string, std::string>> journal_source(std::string_view line) {
  // Skip the kernel-style "[ 12.345678] " timestamp journald adds.
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i < line.size() && line[i] == '[') {
    const auto close = line.find(']', i);
    if (close == std::string_view::npos) return std::nullopt;
    i = close + 1;
    while (i < line.size() && line[i] == ' ') ++i;
  }
  // IDENT[PID]: message, IDENT without spaces.
  const auto open = line.find('[', i);
  if (open == std::string_view::npos || open == i) return std::nullopt;
  std::string_view ident = line.substr(i, open - i);
  if (ident.find(' ') != std::string_view::npos) return std::nullopt;
  std::size_t j = open + 1;
  const std::size_t digits = j;
  while (j < line.size() && line[j] >= '0' && line[j] <= '9') ++j;
  if (j == digits || j + 2 >= line.size() || line[j] != ']' || line[j + 1] != ':' ||
      line[j + 2] != ' ')
    return std::nullopt;
  if (ident.size() > 2 && ident.front() == '(' && ident.back() == ')')
    ident = ident.substr(1, ident.size() - 2);
  return std::pair{std::string(ident), std::string(line.substr(j + 3))};
}

ConsoleAnalyzer::ConsoleAnalyzer(const Catalog& catalog, std::vector<UnitFacts> units)
    : catalog_(catalog), facts_(std::move(units)) {
  for (const auto& f : facts_) a_.units[f.name].name = f.name;
}

void ConsoleAnalyzer::feed(std::string_view bytes, std::int64_t ms) {
  a_.bytes += bytes.size();
  asm_.feed(bytes, [&](std::string_view raw) {
    line(filter_ ? filter_(clean_line(raw)) : clean_line(raw), ms);
  });
}

void ConsoleAnalyzer::finish(std::int64_t ms) {
  asm_.finish([&](std::string_view raw) {
    line(filter_ ? filter_(clean_line(raw)) : clean_line(raw), ms);
  });
}

void ConsoleAnalyzer::restart_input() {
  asm_.reset();
  event(a_.last_line_ms.value_or(0), Kind::warning, "console_truncated",
        "the console log was truncated; reading it again from its start");
}

std::vector<Event> ConsoleAnalyzer::take_events() {
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

void ConsoleAnalyzer::event(std::int64_t ms, Kind kind, std::string what, std::string words) {
  if (events_.size() < 1000) events_.push_back({ms, kind, std::move(what), std::move(words)});
}

const UnitFacts* ConsoleAnalyzer::resolve(std::string_view subject) const {
  const auto dash = subject.find(" - ");
  const std::string_view head = dash == std::string_view::npos ? subject : subject.substr(0, dash);
  const std::string_view desc =
      dash == std::string_view::npos ? std::string_view() : subject.substr(dash + 3);
  for (const auto& f : facts_) {
    if (head == f.name || ellipsized_match(head, f.name)) return &f;
    if (f.description.empty()) continue;
    for (std::string_view d : {subject, desc}) {
      if (d.empty()) continue;
      if (d == f.description || ellipsized_match(d, f.description)) return &f;
    }
  }
  return nullptr;
}

const UnitFacts* ConsoleAnalyzer::by_ident(std::string_view ident) const {
  for (const auto& f : facts_)
    for (const auto& id : f.idents)
      if (id == ident) return &f;
  return nullptr;
}

void ConsoleAnalyzer::warn(const Match& m, std::string_view line, std::int64_t ms,
                           std::string reason) {
  std::string words = m.words();
  for (const auto& w : a_.warnings)
    if (w.words == words) return;
  if (a_.warnings.size() >= kMaxWarnings) return;
  a_.warnings.push_back({std::string(m.pattern->def.id), reason, words, std::string(line), ms});
  event(ms, Kind::warning, std::move(reason), std::move(words));
}

void ConsoleAnalyzer::line(std::string_view text, std::int64_t ms) {
  if (text.empty()) return;
  ++a_.lines;
  a_.last_line_ms = ms;
  if (text.find(kReportPrefix) != std::string_view::npos) {
    const auto before = reporter_.broken();
    if (auto r = reporter_.line(text)) {
      if (!a_.first_report_ms) a_.first_report_ms = ms;
      a_.report_ms = ms;
      ++a_.reports;
      event(ms, Kind::info, "report", r->summary());
      a_.report = std::move(*r);
    }
    a_.reports_broken += reporter_.broken() - before;
    return;
  }
  if (a_.tail.size() >= kTailLines) a_.tail.pop_front();
  a_.tail.push_back({ms, std::string(text)});

  // A unit's own output (stderr/stdout through the journal).
  if (auto src = journal_source(text)) {
    if (const UnitFacts* f = by_ident(src->first)) {
      if (!starts_with(src->second, f->name + ":"))
        push_bounded(a_.units[f->name].output, ms, text, kUnitOutput);
    }
  }

  for (const Match& m : catalog_.match(text)) {
    const PatternDef& d = m.pattern->def;
    switch (d.kind) {
      case Kind::failure:
        if (!a_.failure) {
          a_.failure =
              Finding{std::string(d.id), std::string(d.name), m.words(), std::string(text), ms};
          event(ms, Kind::failure, std::string(d.name), m.words());
        }
        break;
      case Kind::milestone:
        if (d.name == "ready_on") {
          if (!a_.ready_on) a_.ready_on = TimedLine{ms, std::string(text)};
          break;
        }
        if (a_.milestones.emplace(std::string(d.name), ms).second) {
          a_.milestone_order.emplace_back(d.name);
          event(ms, Kind::milestone, std::string(d.name), m.words());
        }
        if (d.name == "network_configured" && a_.guest_address.empty() && m.groups.size() > 2)
          a_.guest_address = m.groups[2];
        break;
      case Kind::unit:
        on_unit_event(m, text, ms);
        break;
      case Kind::warning:
        warn(m, text, ms, std::string(d.name));
        break;
      case Kind::info:
        a_.waiting = TimedLine{ms, m.words()};
        if (!a_.waiting_for_network_ms && mentions_network(m.groups[0]))
          a_.waiting_for_network_ms = ms;
        break;
    }
  }
}

void ConsoleAnalyzer::on_unit_event(const Match& m, std::string_view text, std::int64_t ms) {
  using E = UnitEvent;
  const E ev = m.pattern->def.event;
  const std::string& cap = m.groups.size() > 1 ? m.groups[1] : m.groups[0];
  const UnitFacts* f = nullptr;
  switch (ev) {
    case E::started:
    case E::starting:
    case E::failed_to_start:
    case E::dependency_failed:
      f = resolve(cap);
      break;
    case E::kernel_oom:
      f = m.groups.size() > 2 ? by_ident(m.groups[2]) : nullptr;
      break;
    default:
      for (const auto& x : facts_)
        if (x.name == cap) f = &x;
      break;
  }
  const bool failure_event =
      ev == E::failed_to_start || ev == E::dependency_failed || ev == E::result ||
      ev == E::exec_locate || ev == E::exec_step || ev == E::env_files || ev == E::spawn_failed ||
      ev == E::start_limit || ev == E::oom_killed || ev == E::timed_out || ev == E::bad_setting ||
      ev == E::memcg_oom || ev == E::kernel_oom ||
      ((ev == E::main_exited || ev == E::control_exited) && m.groups.size() > 3 &&
       (m.groups[2] != "exited" || m.groups[3] != "0"));
  if (!f) {
    // Another unit: worth a warning when it failed, never a verdict.
    if (failure_event) {
      warn(m, text, ms, ev == E::kernel_oom ? "oom" : "unit_failed");
    }
    return;
  }
  UnitState& s = a_.units[f->name];
  if (ev != E::starting) push_bounded(s.evidence, ms, text, kUnitEvidence);
  auto end_run = [&] {
    if (!s.ended_ms) s.ended_ms = ms;
  };
  auto set_cause = [&](std::string words) {
    if (s.cause.empty()) s.cause = std::move(words);
  };
  // The text after "UNIT: ", systemd's own words.
  auto systemd_words = [&]() -> std::string {
    const std::string key = f->name + ": ";
    const auto at = text.find(key);
    return at == std::string_view::npos ? std::string(text)
                                        : std::string(text.substr(at + key.size()));
  };
  switch (ev) {
    case E::starting:
      if (!s.starting_ms || s.ended_ms) {
        s.starting_ms = ms;
        event(ms, Kind::unit, "starting", fmt::format("{} is starting", f->name));
      }
      break;
    case E::started:
      if (s.started_ms && !s.ended_ms) break;  // the status line and the journal both say it
      s.started_ms = ms;
      s.ended_ms.reset();
      s.restart_pending = false;
      ++s.runs;
      event(ms, Kind::unit, "started",
            s.runs > 1 ? fmt::format("{} started again (run {})", f->name, s.runs)
                       : fmt::format("{} started", f->name));
      break;
    case E::failed_to_start:
      // The "[FAILED]" status line and the journal's line both say it.
      if (s.failed_to_start && s.ended_ms && s.starting_ms.value_or(0) <= *s.ended_ms) break;
      s.failed_to_start = true;
      end_run();
      event(ms, Kind::unit, "failed", fmt::format("{} failed to start", f->name));
      break;
    case E::dependency_failed:
      s.dependency_failed = true;
      end_run();
      set_cause("a unit it requires failed, so systemd did not start it");
      event(ms, Kind::unit, "failed", m.words());
      break;
    case E::main_exited:
    case E::control_exited:
      s.exit_code = m.groups[2];
      s.exit_status = std::atoi(m.groups[3].c_str());
      s.exit_name = m.groups[4];
      end_run();
      event(ms, Kind::unit, "exited",
            fmt::format("{}: {} {}", f->name,
                        ev == E::control_exited ? "a control process" : "the main process",
                        describe_exit(s.exit_code, s.exit_status, s.exit_name)));
      break;
    case E::result:
      s.result = m.groups[2];
      end_run();
      if (s.result == "oom-kill") s.oom = true;
      break;
    case E::exec_locate:
    case E::exec_step:
    case E::env_files:
    case E::spawn_failed:
    case E::timed_out:
      set_cause(systemd_words());
      end_run();
      break;
    case E::bad_setting:
      s.bad_setting = true;
      set_cause(systemd_words());
      end_run();
      break;
    case E::start_limit:
      s.start_limit = true;
      end_run();
      event(ms, Kind::unit, "crash_loop", m.words());
      break;
    case E::restart_scheduled:
      s.restarts = std::max(s.restarts, std::atoi(m.groups[2].c_str()));
      end_run();
      s.restart_pending = true;
      event(ms, Kind::unit, "restarting", m.words());
      break;
    case E::oom_killed:
    case E::memcg_oom:
    case E::kernel_oom:
      s.oom = true;
      set_cause(m.words());
      event(ms, Kind::unit, "oom", m.words());
      break;
    case E::deactivated:
      s.deactivated = true;
      end_run();
      break;
    case E::none:
      break;
  }
}

}  // namespace vmu::diagnose
