#include "evidence/summary.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vmu::evidence {

namespace {

std::string secs(std::int64_t ms) {
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
}

// The milestones of a healthy boot, in order, for "reached / not reached".
constexpr const char* kMilestones[] = {"kernel_up",    "initramfs",     "root_mounted",
                                       "init_started", "link_up",       "network_configured",
                                       "multi_user",   "boot_finished", "login_prompt"};

const nlohmann::json* section(const nlohmann::json& rec, const char* name) {
  auto it = rec.find(name);
  return it != rec.end() && it->is_object() ? &*it : nullptr;
}

std::string str(const nlohmann::json* j, const char* key) {
  if (!j) return {};
  auto it = j->find(key);
  return it != j->end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string compose_summary(const SummaryInput& in) {
  std::string s;
  auto line = [&](const std::string& t = {}) {
    s += t;
    s += '\n';
  };
  line(fmt::format("vmutils evidence for VM {}", in.id));
  line(fmt::format("archived {} by {}; the VMM: {}", in.made_at, in.made_by, in.vmm_state));
  line();

  // 1. The verdicts.
  const nlohmann::json* ready = section(in.record, "ready");
  const nlohmann::json* error = section(in.record, "error");
  line("VERDICT");
  if (ready) {
    const bool ok = ready->value("ok", false);
    line(fmt::format("  vm-wait-ready: {} ({}){}", ok ? "ready" : "NOT READY",
                     ready->value("reason", std::string("?")),
                     ready->contains("unit") ? " — " + str(ready, "unit") : ""));
    if (!str(ready, "message").empty()) line("    " + str(ready, "message"));
    if (!str(ready, "expected").empty()) line("    expected: " + str(ready, "expected"));
  }
  if (error)
    line(fmt::format("  the record's error: {} failed it: {} (exit {}): {}", str(error, "tool"),
                     str(error, "reason"), error->value("code", 0), str(error, "message")));
  if (in.console) {
    const auto& c = *in.console;
    if (c.verdict)
      line(fmt::format("  console analysis: {} ({}){}", c.verdict->ok ? "ready" : "FAILED",
                       c.verdict->reason, c.verdict->unit.empty() ? "" : " — " + c.verdict->unit));
    else
      line("  console analysis: no failure found on the console");
    if (c.verdict) {
      line("    " + c.verdict->message);
      if (!c.verdict->expected.empty()) line("    expected: " + c.verdict->expected);
    }
    if (in.console_judged < in.console_bytes)
      line(
          fmt::format("    (judged on the first {} of {} bytes: the rest is the shutdown the "
                      "archiving tool asked for)",
                      in.console_judged, in.console_bytes));
  } else {
    line("  console analysis: no console log to analyse");
  }
  if (!ready && !error && (!in.console || !in.console->verdict))
    line("  nothing says this VM failed");
  line();

  // 2. The evidence lines.
  std::vector<std::string> evidence;
  if (ready && ready->contains("evidence") && (*ready)["evidence"].is_array())
    for (const auto& e : (*ready)["evidence"])
      if (e.is_string()) evidence.push_back(e.get<std::string>());
  if (in.console && in.console->verdict)
    for (const auto& e : in.console->verdict->evidence)
      if (std::find(evidence.begin(), evidence.end(), e) == evidence.end()) evidence.push_back(e);
  if (!evidence.empty()) {
    line("EVIDENCE");
    for (const auto& e : evidence) line("  " + e);
    line();
  }

  // 3. Milestones and units.
  if (in.console) {
    const auto& a = in.console->analysis;
    line(fmt::format("MILESTONES (guest time since its boot; the console has {} lines, last at {})",
                     a.lines, secs(in.console->end_ms)));
    for (const char* m : kMilestones) {
      auto t = a.milestone(m);
      line(fmt::format("  {:<20} {}", m, t ? secs(*t) : std::string("not reached")));
    }
    for (const auto& [name, u] : a.units) {
      const auto j = u.to_json();
      std::string words = j.value("state", std::string("?"));
      if (j.contains("exit")) words += ", " + j["exit"].get<std::string>();
      if (j.contains("result")) words += ", result " + j["result"].get<std::string>();
      if (u.restarts) words += fmt::format(", {} restarts", u.restarts);
      line(fmt::format("  unit {}: {}", name, words));
      if (!u.cause.empty()) line("    " + u.cause);
      for (const auto& o : u.output) line("    output: " + o.text);
    }
    if (a.report) line("  reporter (last block): " + a.report->summary());
    if (!a.warnings.empty()) {
      line("  warnings:");
      for (const auto& w : a.warnings) line("    " + w.words);
    }
    line();
  }

  // 4. The image and the host.
  if (!in.preflight.empty()) {
    line(fmt::format("PREFLIGHT (rootfs-inspect check of {}): {}",
                     in.units.empty() ? std::string("the agent units")
                                      : fmt::format("{}", fmt::join(in.units, ", ")),
                     inspect::summary(in.preflight)));
    for (const auto& f : in.preflight)
      if (f.severity != inspect::Severity::info)
        line(fmt::format("  {} {}: {}: {}", inspect::severity_word(f.severity), f.unit, f.code,
                         f.message));
    line();
  }
  if (!in.rootfs.empty())
    line(fmt::format("IMAGE {}: {}\n", in.rootfs,
                     in.image_note.empty() ? std::string("not read") : in.image_note));
  line("HOST");
  if (in.tap) {
    const auto& t = *in.tap;
    if (!t.present) {
      line(fmt::format("  TAP {}: not present", t.name));
    } else {
      auto c = [&](const char* k) {
        auto it = t.counters.find(k);
        return it == t.counters.end() ? std::string("?") : std::to_string(it->second);
      };
      line(
          fmt::format("  TAP {}: {}, operstate {}, bridge {}, rx {} packets (from the guest), "
                      "tx {} packets (to it)",
                      t.name, t.up ? "up" : "DOWN", t.operstate,
                      t.master.empty() ? "NONE" : t.master, c("rx_packets"), c("tx_packets")));
    }
  }
  if (!in.ip.empty())
    line(in.neighbour ? fmt::format("  neighbour {}: {} {} on {}", in.ip, in.neighbour->state,
                                    in.neighbour->lladdr, in.neighbour->dev)
                      : fmt::format("  neighbour {}: no entry", in.ip));
  line(
      in.journal_entries
          ? fmt::format("  guest journal: {} entries (journal/journal.txt, journal/journal.export)",
                        *in.journal_entries)
          : std::string("  guest journal: not collected (see below)"));
  line();

  if (!in.missing.empty()) {
    line("NOT COLLECTED");
    for (const auto& m : in.missing) line(fmt::format("  {}: {}", m.item, m.why));
    line();
  }
  line("REDACTION");
  line(in.redacted_keys.empty()
           ? std::string("  no values to redact")
           : fmt::format("  values of {} replaced by [redacted:KEY] in every member ({} "
                         "replacement{})",
                         fmt::join(in.redacted_keys, ", "), in.replacements,
                         in.replacements == 1 ? "" : "s"));
  if (!in.short_keys.empty())
    line(fmt::format("  {}: shorter than 4 bytes, replaced only where written KEY=VALUE",
                     fmt::join(in.short_keys, ", ")));
  if (!in.absent_keys.empty())
    line(fmt::format("  {}: no value in the image's env file, nothing to redact",
                     fmt::join(in.absent_keys, ", ")));
  line();

  // 5. Next steps.
  line("WHAT TO LOOK AT NEXT");
  std::string reason, unit;
  if (ready && !ready->value("ok", true)) {
    reason = str(ready, "reason");
    unit = str(ready, "unit");
  }
  if (reason.empty() && in.console && in.console->verdict) {
    reason = in.console->verdict->reason;
    unit = in.console->verdict->unit;
  }
  if (unit.empty() && !in.units.empty()) unit = in.units.front();
  if (in.failure_line)
    line(fmt::format("  less -R +{}g console.log            # line {}: the failure on the console",
                     *in.failure_line, *in.failure_line));
  else
    line("  less -R console.log                  # the whole serial console");
  if (!unit.empty()) {
    if (in.journal_entries)
      line(fmt::format("  grep -F '{}' journal/journal.txt     # what the guest's journal kept",
                       unit.substr(0, unit.rfind('.'))));
    line(fmt::format("  ls rootfs/etc/systemd/system/        # {} and its drop-ins as injected",
                     unit));
  }
  if (in.journal_entries)
    line(
        "  /lib/systemd/systemd-journal-remote -o vm.journal journal/journal.export && "
        "journalctl --file vm.journal");
  if (in.rootfs_kept && !in.rootfs.empty() && !unit.empty())
    line(fmt::format("  rootfs-inspect check {} --unit {}", in.rootfs, unit));
  else if (!in.rootfs_kept)
    line("  (the rootfs was removed with the VM: vm-destroy --keep-state keeps it)");
  if (reason == "network_down" || reason == "timeout" || reason == "port_closed") {
    line("  cat host/network.json host/dhcp-host   # TAP, bridge, neighbour, DHCP entry");
    if (!in.ip.empty())
      line(fmt::format("  ip neigh show {}; ip -s link show {}", in.ip,
                       in.tap ? in.tap->name : std::string("TAP")));
  }
  if (reason == "kernel_panic" || reason == "no_root_fs" || reason == "initrd_failed" ||
      reason == "no_init")
    line("  grep -n -i -E 'panic|VFS|init' console.log   # the kernel's last words");
  line("  cat manifest.json                    # every member with its SHA-256");
  return s;
}

}  // namespace vmu::evidence
