#include "diagnose/verdict.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/duration.hpp"

namespace vmu::diagnose {

namespace {

using ms_t = std::int64_t;

std::string secs(ms_t ms) {
  return format_duration(std::chrono::milliseconds(std::max<ms_t>(ms, 0)));
}

bool neighbour_answers(std::string_view n) {
  return n == "REACHABLE" || n == "STALE" || n == "DELAY" || n == "PROBE" || n == "PERMANENT" ||
         n == "NOARP";
}

std::string milestone_words(const Analysis& a, ms_t start) {
  auto m = a.latest_milestone();
  if (!m) return "the guest had reached no milestone (no 'Linux version' line yet)";
  return fmt::format("the guest had reached {} (at {})", m->first, secs(m->second - start));
}

// "vm-agent said \"SESSION_ID not set\"" from "[ 1.2] vm-agent[167]: SESSION_ID not set".
std::string quote_output(const TimedLine& l) {
  if (auto src = journal_source(l.text))
    return fmt::format("{} said \"{}\"", src->first, src->second);
  return fmt::format("it said \"{}\"", l.text);
}

std::string unit_message(const UnitState& s) {
  std::string primary;
  if (!s.cause.empty())
    primary = s.cause;
  else if (!s.output.empty())
    primary = quote_output(s.output.back());
  else if (s.failed_to_start)
    primary = "systemd failed to start it";
  else if (s.deactivated)
    primary = "its main process ended; an agent must keep running";
  else
    primary = "it stopped";
  std::string why;
  if (s.exit_status >= 0)
    why = describe_exit(s.exit_code, s.exit_status, s.exit_name);
  else if (!s.result.empty())
    why = fmt::format("result '{}'", s.result);
  // The agent's own last words matter even when systemd named a cause.
  if (!s.cause.empty() && !s.output.empty()) primary += "; " + quote_output(s.output.back());
  return fmt::format("{}: {}{}", s.name, primary, why.empty() ? "" : " (" + why + ")");
}

std::vector<std::string> unit_evidence(const UnitState& s) {
  std::vector<TimedLine> all = s.evidence;
  all.insert(all.end(), s.output.begin(), s.output.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const TimedLine& x, const TimedLine& y) { return x.ms < y.ms; });
  std::vector<std::string> out;
  const std::size_t from = all.size() > 12 ? all.size() - 12 : 0;
  for (std::size_t i = from; i < all.size(); ++i) out.push_back(all[i].text);
  return out;
}

std::vector<std::string> tail_lines(const Analysis& a, std::size_t n) {
  std::vector<std::string> out;
  const std::size_t from = a.tail.size() > n ? a.tail.size() - n : 0;
  for (std::size_t i = from; i < a.tail.size(); ++i) out.push_back(a.tail[i].text);
  return out;
}

Verdict fail(std::string reason, std::string unit, std::string message,
             std::vector<std::string> evidence, ms_t now, Exit code = Exit::guest_failed) {
  Verdict v;
  v.ok = false;
  v.reason = std::move(reason);
  v.code = code;
  v.unit = std::move(unit);
  v.message = std::move(message);
  v.evidence = std::move(evidence);
  v.at_ms = now;
  return v;
}

// The probe's host-side evidence, for network words.
std::string arp_words(const ProbeState& p) {
  std::vector<std::string> parts;
  if (!p.neighbour.empty()) {
    if (neighbour_answers(p.neighbour))
      parts.push_back(fmt::format("{} answers ARP{} (neighbour {})", p.ip,
                                  p.bridge.empty() ? "" : " on " + p.bridge, p.neighbour));
    else
      parts.push_back(fmt::format("no ARP answer for {}{} (neighbour {})", p.ip,
                                  p.bridge.empty() ? "" : " on " + p.bridge, p.neighbour));
  } else if (!p.bridge.empty()) {
    parts.push_back(fmt::format("no neighbour entry for {} on {}", p.ip, p.bridge));
  }
  if (p.tap_rx_packets && !p.tap.empty()) {
    if (*p.tap_rx_packets == 0)
      parts.push_back(fmt::format("the guest has never sent a frame on {} (rx 0 packets)", p.tap));
    else
      parts.push_back(fmt::format("the guest has sent {} frames on {}", *p.tap_rx_packets, p.tap));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

const UnitState& unit_of(const Analysis& a, const std::string& name) {
  static const UnitState kNone;
  auto it = a.units.find(name);
  return it == a.units.end() ? kNone : it->second;
}

}  // namespace

std::string_view outcome_word(Outcome o) {
  switch (o) {
    case Outcome::none:
      return "none";
    case Outcome::ok:
      return "ok";
    case Outcome::http_status:
      return "http_status";
    case Outcome::refused:
      return "refused";
    case Outcome::unreachable:
      return "unreachable";
    case Outcome::timeout:
      return "timeout";
    case Outcome::reset:
      return "reset";
    case Outcome::other:
      return "other";
  }
  return "?";
}

std::string ProbeState::describe() const {
  const std::string arp = arp_words(*this);
  const std::string more = arp.empty() ? "" : ": " + arp;
  switch (last) {
    case Outcome::none:
      if (in_flight_ms && now_ms)
        return fmt::format("no answer yet from {}:{} (the first probe has waited {}){}", ip, port,
                           secs(*now_ms - *in_flight_ms), more);
      return attempts == 0 ? "not probed yet" : "no answer yet";
    case Outcome::ok:
      return fmt::format("HTTP {} from GET {}", ok_status, url);
    case Outcome::http_status:
      return fmt::format("GET {} answered HTTP {} (expected {})", url, last_http, expect);
    case Outcome::refused:
      return fmt::format(
          "connection refused by {}:{}: the guest's network is up but nothing listens on port {}",
          ip, port, port);
    case Outcome::unreachable:
      if (last_errno == ENETUNREACH)
        return fmt::format(
            "no route to {} (ENETUNREACH): this host has no route to the guest's "
            "network; run vm-wait-ready where its bridge is (ip netns exec ...)",
            ip);
      return fmt::format("no route to {} (EHOSTUNREACH){}", ip, more);
    case Outcome::timeout:
      return fmt::format("no answer from {}:{} before the connect timeout{}", ip, port, more);
    case Outcome::reset:
      return fmt::format("{}:{} accepted the connection but closed it without an HTTP answer ({})",
                         ip, port, last_detail);
    case Outcome::other:
      return fmt::format("GET {} failed: {}", url, last_detail);
  }
  return last_detail;
}

nlohmann::json ProbeState::to_json() const {
  nlohmann::json j = {{"url", url},
                      {"attempts", attempts},
                      {"last", outcome_word(last)},
                      {"refused", refused},
                      {"unreachable", unreachable},
                      {"timeouts", timeouts},
                      {"http_errors", http_errors}};
  if (last_errno) j["errno"] = last_errno;
  if (last_http) j["http_status"] = last_http;
  if (ok_ms) j["status"] = ok_status;
  if (!neighbour.empty()) j["neighbour"] = neighbour;
  if (tap_rx_packets) j["tap_rx_packets"] = *tap_rx_packets;
  if (tap_tx_packets) j["tap_tx_packets"] = *tap_tx_packets;
  return j;
}

std::int64_t* grace_field(Graces& g, std::string_view name) {
  if (name == "settle") return &g.settle;
  if (name == "settle_no_restart") return &g.settle_no_restart;
  if (name == "unit_start") return &g.unit_start;
  if (name == "boot_finished") return &g.boot_finished;
  if (name == "network") return &g.network;
  if (name == "network_early") return &g.network_early;
  if (name == "port") return &g.port;
  if (name == "port_reporter") return &g.port_reporter;
  if (name == "stalled") return &g.stalled;
  return nullptr;
}

std::vector<std::string_view> grace_names() {
  return {"settle", "settle_no_restart", "unit_start", "boot_finished", "network", "network_early",
          "port",   "port_reporter",     "stalled"};
}

Decision decide(const Analysis& a, const std::vector<UnitFacts>& units, const ProbeState& p,
                const VmmState& v, const DecideConfig& cfg, ms_t now, bool final) {
  Decision d;
  const Graces& g = cfg.graces;
  auto recheck = [&](ms_t t) { d.recheck_ms = std::min(d.recheck_ms, std::max(t, now + 1)); };
  auto done = [&](Verdict verdict) {
    d.verdict = std::move(verdict);
    return d;
  };

  // 1. Ready: the agent answered, or the console said what --ready-on wants.
  if (p.ok_ms) {
    Verdict r;
    r.ok = true;
    r.reason = "ready";
    r.code = Exit::ok;
    r.message = fmt::format("GET {} answered HTTP {}", p.url, p.ok_status);
    r.evidence = {r.message};
    r.at_ms = now;
    return done(std::move(r));
  }
  if (a.ready_on) {
    Verdict r;
    r.ok = true;
    r.reason = "ready";
    r.code = Exit::ok;
    r.message = fmt::format("the console matched --ready-on: {}", a.ready_on->text);
    r.evidence = {a.ready_on->text};
    r.at_ms = now;
    return done(std::move(r));
  }

  // 2. A boot failure on the console: no unit can start after it.
  if (a.failure) {
    std::vector<std::string> ev{a.failure->line};
    for (auto& l : tail_lines(a, 8))
      if (l != a.failure->line) ev.push_back(l);
    return done(fail(a.failure->reason, "", a.failure->words, ev, now));
  }

  // 3. The units that matter, from what systemd said on the console.
  for (const auto& f : units) {
    auto it = a.units.find(f.name);
    if (it == a.units.end()) continue;
    const UnitState& s = it->second;
    if (s.start_limit || s.restarts >= cfg.crash_loop_restarts) {
      std::string msg =
          fmt::format("{} keeps failing: systemd restarted it {} time{}{}; last failure: {}",
                      s.name, s.restarts, s.restarts == 1 ? "" : "s",
                      s.start_limit ? " and then gave up (start request repeated too quickly)" : "",
                      unit_message(s));
      return done(fail("unit_crash_loop", s.name, msg, unit_evidence(s), now));
    }
    if (!s.ended_ms) continue;
    if (s.restart_pending && !final) {
      // Restarting: wait for "Started" again (RestartSec= plus slack).
      const ms_t wait = std::max<ms_t>(f.restart_sec_ms, 100) + 10000;
      if (now < *s.ended_ms + wait) {
        recheck(*s.ended_ms + wait);
        continue;
      }
    }
    ms_t settle = g.settle;
    if (f.restart == "no" && !s.restart_pending)
      settle = g.settle_no_restart;
    else if (!f.restart.empty() && f.restart_sec_ms >= 0)
      settle = std::max(settle, f.restart_sec_ms + g.settle);
    if (!final && !s.dependency_failed && now < *s.ended_ms + settle) {
      recheck(*s.ended_ms + settle);
      continue;
    }
    return done(
        fail(s.oom ? "oom" : "unit_failed", s.name, unit_message(s), unit_evidence(s), now));
  }

  // 4. The VMM is gone (the console has been read to its end).
  if (v.exited) {
    std::string msg = fmt::format("the VMM (pid {}) exited, {}; {}", v.pid,
                                  v.status.empty() ? "exit status unknown" : v.status,
                                  milestone_words(a, cfg.start_ms));
    std::vector<std::string> ev;
    for (const auto& l : v.log_tail) ev.push_back("vmm.log: " + l);
    for (auto& l : tail_lines(a, 6)) ev.push_back(l);
    if (!v.log_tail.empty()) msg += fmt::format("; vmm.log ends: {}", v.log_tail.back());
    return done(fail("vmm_exited", "", msg, ev, v.exited_ms.value_or(now)));
  }

  const auto multi_user = a.milestone("multi_user");
  const auto finished = a.milestone("boot_finished");
  const Report* rep = a.report ? &*a.report : nullptr;

  // 5. What the guest reporter says about the units.
  if (rep) {
    for (const auto& f : units) {
      const UnitReport* u = rep->unit(f.name);
      if (!u) continue;
      const std::string load = u->get("LoadState"), active = u->get("ActiveState");
      const std::string summary = fmt::format(
          "LoadState={} ActiveState={} SubState={} Result={} NRestarts={} UnitFileState={}", load,
          active, u->get("SubState"), u->get("Result"), u->get("NRestarts"),
          u->get("UnitFileState"));
      std::vector<std::string> ev{"reporter: " + f.name + ": " + summary};
      if (load == "not-found")
        return done(fail("unit_not_started", f.name,
                         fmt::format("{} is not installed in the guest: systemd does not know it "
                                     "(LoadState=not-found)",
                                     f.name),
                         ev, now));
      if (load == "bad-setting" || load == "error")
        return done(fail("unit_failed", f.name,
                         fmt::format("{} cannot be loaded: its unit file is invalid (LoadState={})",
                                     f.name, load),
                         ev, now));
      const int restarts = std::atoi(u->get("NRestarts").c_str());
      if (restarts >= cfg.crash_loop_restarts)
        return done(fail("unit_crash_loop", f.name,
                         fmt::format("{} keeps failing: systemd restarted it {} times ({})", f.name,
                                     restarts, summary),
                         ev, now));
      if (active == "failed") {
        const UnitState* s = a.units.count(f.name) ? &unit_of(a, f.name) : nullptr;
        std::string msg = fmt::format("{} failed (systemd: Result={}, ExecMainStatus={})", f.name,
                                      u->get("Result"), u->get("ExecMainStatus"));
        if (s && !s->output.empty()) msg += "; " + quote_output(s->output.back());
        if (s)
          for (auto& l : unit_evidence(*s)) ev.push_back(l);
        return done(
            fail(u->get("Result") == "oom-kill" ? "oom" : "unit_failed", f.name, msg, ev, now));
      }
      if (active == "inactive" && multi_user && !unit_of(a, f.name).ever_started()) {
        const std::string file = u->get("UnitFileState");
        return done(
            fail("unit_not_started", f.name,
                 fmt::format(
                     "{} was never started: systemd reports it inactive (dead){}", f.name,
                     file == "enabled" ? "" : fmt::format(", UnitFileState={}: not enabled", file)),
                 ev, now));
      }
    }
  }

  // 6. Silent failures: what is missing after a grace period.
  for (const auto& f : units) {
    const UnitState& s = unit_of(a, f.name);
    if (s.ever_started() || s.ended_ms) continue;
    std::optional<ms_t> base;
    ms_t grace = 0;
    std::string after;
    if (finished) {
      base = finished;
      grace = g.boot_finished;
      after = "the boot finished ('Startup finished')";
    }
    if (multi_user && (!base || *multi_user + g.unit_start < *base + grace)) {
      base = multi_user;
      grace = g.unit_start;
      after = "multi-user.target was reached";
    }
    if (!base) continue;
    if (!final && now < *base + grace) {
      recheck(*base + grace);
      continue;
    }
    std::string hint;
    if (!f.in_record)
      hint =
          "; it is not in the record's agent.units (agent-inject did not install it with "
          "--unit, which enables it): is it enabled?";
    else if (f.enabled_in.empty())
      hint =
          "; it is not enabled in any target (agent.units[].enabled_in is empty): enable it "
          "(agent-inject --unit) or start it from an enabled unit";
    else
      hint = fmt::format(
          "; it is enabled in {}: is it ordered after a unit that never "
          "finishes, or conditioned out?",
          fmt::join(f.enabled_in, ", "));
    if (s.starting_ms) hint = "; it began starting but never finished";
    Verdict vd = fail("unit_not_started", f.name,
                      fmt::format("{} was never started: {} {} ago without 'Started {}'{}", f.name,
                                  after, secs(now - *base), f.name, hint),
                      tail_lines(a, 6), now);
    vd.expected =
        fmt::format("'Started {}' on the console within {} of {}", f.name, secs(grace), after);
    return done(std::move(vd));
  }

  // The guest's network: evidence that it is up.
  const bool network_seen = a.milestone("network_configured").has_value() || p.ever_answered ||
                            neighbour_answers(p.neighbour);
  bool units_running = !units.empty();
  std::optional<ms_t> running_since;
  for (const auto& f : units) {
    const UnitState& s = unit_of(a, f.name);
    if (!s.started_ms || s.ended_ms) units_running = false;
    if (s.started_ms) running_since = std::max(running_since.value_or(0), *s.started_ms);
  }
  if (units.empty() && multi_user) {
    units_running = true;
    running_since = multi_user;
  }
  std::vector<std::string> names;
  for (const auto& f : units) names.push_back(f.name);
  const std::string who = units.empty() ? "the guest" : fmt::format("{}", fmt::join(names, ", "));

  // Reporter: the agent listens, but not where the host can reach it.
  if (rep && units_running && p.last == Outcome::refused && p.refused_since_ms) {
    const auto ls = rep->listening_on(p.port);
    bool reachable = false;
    std::vector<std::string> where;
    for (const auto& l : ls) {
      where.push_back(l.str());
      if (l.any() || l.addr == p.ip || l.addr == "::ffff:" + p.ip) reachable = true;
    }
    if (!ls.empty() && !reachable) {
      const ms_t since = std::max(*p.refused_since_ms, running_since.value_or(0));
      if (final || now >= since + g.port_reporter) {
        const bool lo =
            std::all_of(ls.begin(), ls.end(), [](const Listener& l) { return l.loopback(); });
        Verdict vd = fail(
            "port_closed", units.empty() ? "" : units.front().name,
            fmt::format("{} is running and listens on {} only: {}", who, fmt::join(where, ", "),
                        lo ? "loopback, unreachable from the host"
                           : fmt::format("not on {}, the address the host probes", p.ip)),
            {"reporter: " + rep->summary(), p.describe()}, now);
        vd.expected = fmt::format("a socket listening on {}:{} or on all addresses", p.ip, p.port);
        return done(std::move(vd));
      }
      recheck(since + g.port_reporter);
    }
  }

  // Reporter: an interface without an address after multi-user.
  if (rep && multi_user && !network_seen) {
    bool any_addr = false;
    std::vector<std::string> words;
    for (const auto& i : rep->ifaces) {
      if (!i.addrs.empty()) any_addr = true;
      std::string w = fmt::format("{} is {}", i.name, i.operstate);
      if (i.carrier == "0") w += " without carrier";
      w += i.addrs.empty() ? " and has no IPv4 address"
                           : fmt::format(" with {}", fmt::join(i.addrs, ", "));
      if (!i.networkd_admin.empty()) w += fmt::format(" (networkd: {})", i.networkd_admin);
      words.push_back(w);
    }
    if (!any_addr) {
      const ms_t since = std::max(*multi_user, a.report_ms.value_or(0));
      if (final || now >= since + g.port_reporter) {
        Verdict vd = fail("network_down", "",
                          fmt::format("the guest has no network address: {}",
                                      words.empty() ? std::string("it has no interface but lo")
                                                    : fmt::format("{}", fmt::join(words, "; "))),
                          {"reporter: " + rep->summary(), p.describe()}, now);
        vd.expected = "an IPv4 address on the guest's interface (DHCP)";
        return done(std::move(vd));
      }
      recheck(since + g.port_reporter);
    }
  }

  // No network: the guest is up (multi-user, or init for long) and
  // nothing shows it ever configured its interface.
  if (!network_seen && p.attempts > 0 &&
      (p.last == Outcome::unreachable || p.last == Outcome::timeout)) {
    std::optional<ms_t> at;
    std::string after;
    ms_t grace = 0;
    if (multi_user) {
      at = *multi_user + g.network;
      grace = g.network;
      after = "multi-user.target was reached";
    } else if (a.waiting_for_network_ms) {
      // The boot is held up by its network (an agent ordered after
      // network-online.target): not merely slow, which a loaded host makes
      // every boot.
      at = *a.waiting_for_network_ms + g.network_early;
      grace = g.network_early;
      after = "the boot began to wait for the network";
    }
    if (at) {
      if (final || now >= *at) {
        std::string msg = "the guest never configured its network";
        if (auto link = a.milestone("link_up")) msg += ": its interface has a link but no address";
        msg += fmt::format(" ({} {} ago; no 'DHCPv4 address' line, no answer from {}): {}", after,
                           secs(now - (*at - grace)), p.ip, p.describe());
        std::vector<std::string> ev{p.describe()};
        if (a.waiting) ev.push_back(a.waiting->text);
        for (auto& l : tail_lines(a, 5)) ev.push_back(l);
        Verdict vd = fail("network_down", "", msg, ev, now);
        vd.expected = fmt::format(
            "a network configuration line (e.g. 'eth0: DHCPv4 address ...') or any answer "
            "from {} within {} of {}",
            p.ip, secs(grace), after);
        return done(std::move(vd));
      }
      recheck(*at);
    }
  }

  // The unit runs, the network is up, the port stays closed.
  if (units_running && p.last == Outcome::refused && p.refused_since_ms) {
    const ms_t since = std::max(*p.refused_since_ms, running_since.value_or(0));
    if (final || now >= since + g.port) {
      std::string msg = fmt::format(
          "{} {} running but nothing accepts connections on {}:{}: connection refused for {} ({} "
          "refusals)",
          who, units.size() > 1 ? "are" : "is", p.ip, p.port, secs(now - *p.refused_since_ms),
          p.refused);
      std::vector<std::string> ev{p.describe()};
      if (rep) {
        const auto ls = rep->listening_on(p.port);
        msg += ls.empty() ? fmt::format("; the guest reports nothing listening on port {} ({})",
                                        p.port, rep->summary())
                          : fmt::format("; the guest reports: {}", rep->summary());
        ev.push_back("reporter: " + rep->summary());
      }
      for (const auto& f : units)
        for (auto& l : unit_of(a, f.name).output) ev.push_back(l.text);
      Verdict vd = fail("port_closed", units.empty() ? "" : units.front().name, msg, ev, now);
      vd.expected = fmt::format("port {} to accept connections within {} of the unit starting",
                                p.port, secs(g.port));
      return done(std::move(vd));
    }
    recheck(since + g.port);
  }

  // The agent answers, but never with an expected status (4xx: wrong path?).
  if (p.last == Outcome::http_status && p.bad_status_since_ms && p.last_http >= 400 &&
      p.last_http < 500) {
    if (final || now >= *p.bad_status_since_ms + g.port) {
      Verdict vd =
          fail("bad_status", units.empty() ? "" : units.front().name,
               fmt::format("GET {} answered HTTP {} for {} (expected {}): a wrong --path, "
                           "or the agent refuses the request",
                           p.url, p.last_http, secs(now - *p.bad_status_since_ms), p.expect),
               {p.describe()}, now);
      vd.expected = fmt::format("HTTP {}", p.expect);
      return done(std::move(vd));
    }
    recheck(*p.bad_status_since_ms + g.port);
  }

  // The console went silent before the guest was up.
  if (cfg.console && !multi_user) {
    const ms_t last = a.last_line_ms.value_or(cfg.start_ms);
    if (final ? false : now >= last + g.stalled) {
      std::string msg =
          a.last_line_ms
              ? fmt::format("the boot stalled: the console has been silent for {} after: {}",
                            secs(now - last), a.tail.empty() ? "" : a.tail.back().text)
              : fmt::format(
                    "the console stayed empty for {}: is console=ttyS0 on the kernel "
                    "command line, and does the kernel start?",
                    secs(now - last));
      Verdict vd = fail("boot_stalled", "", msg, tail_lines(a, 8), now);
      vd.expected = fmt::format("console output at least every {}", secs(g.stalled));
      return done(std::move(vd));
    }
    if (!final) recheck(last + g.stalled);
  }

  // The deadline.
  if (now >= cfg.deadline_ms) {
    Verdict vd;
    vd.ok = false;
    vd.reason = "timeout";
    vd.code = Exit::not_ready;
    vd.message = fmt::format("not ready after {}: {}; {}", secs(now - cfg.start_ms), p.describe(),
                             milestone_words(a, cfg.start_ms));
    vd.expected = fmt::format("GET {} to answer HTTP {}", p.url, p.expect);
    vd.evidence = tail_lines(a, 10);
    vd.at_ms = now;
    return done(std::move(vd));
  }
  recheck(cfg.deadline_ms);
  return d;
}

nlohmann::json ready_json(const Verdict& v, const Analysis& a, const ProbeState& p,
                          const VmmState& vmm, const DecideConfig& cfg) {
  nlohmann::json j = {{"ok", v.ok}, {"reason", v.reason}};
  if (!v.unit.empty()) j["unit"] = v.unit;
  j["elapsed_ms"] = v.at_ms - cfg.start_ms;
  j["message"] = v.message;
  if (!v.expected.empty()) j["expected"] = v.expected;
  j["evidence"] = v.evidence;
  nlohmann::json ms = nlohmann::json::object();
  for (const auto& [name, t] : a.milestones) ms[name] = std::max<std::int64_t>(t - cfg.start_ms, 0);
  for (const auto& [name, s] : a.units)
    if (s.started_ms)
      ms["started:" + name] = std::max<std::int64_t>(*s.started_ms - cfg.start_ms, 0);
  if (p.ok_ms) ms["answered"] = std::max<std::int64_t>(*p.ok_ms - cfg.start_ms, 0);
  j["milestones"] = ms;
  nlohmann::json us = nlohmann::json::object();
  for (const auto& [name, s] : a.units) us[name] = s.to_json(cfg.start_ms);
  if (!us.empty()) j["units"] = us;
  j["attempts"] = p.attempts;
  j["last_error"] = p.last == Outcome::ok ? "" : p.describe();
  j["probe"] = p.to_json();
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : a.warnings) warnings.push_back(w.words);
  j["warnings"] = warnings;
  if (cfg.reporter || a.reports || a.reports_broken) {
    nlohmann::json r = {{"blocks", a.reports}, {"broken", a.reports_broken}};
    if (a.report) {
      r["last"] = a.report->to_json();
      r["summary"] = a.report->summary();
    }
    j["reporter"] = r;
  }
  if (vmm.exited) {
    j["vmm"] = {{"exited", true}, {"status", vmm.status}, {"log_tail", vmm.log_tail}};
  }
  if (!v.ok) {
    nlohmann::json tail = nlohmann::json::array();
    for (auto& l : tail_lines(a, 10)) tail.push_back(l);
    j["console_tail"] = tail;
  }
  j["console_lines"] = a.lines;
  return j;
}

}  // namespace vmu::diagnose
