// vm-wait-ready: wait for each VM's agent to answer its health check, while
// following its console and its VMM, and give a verdict in words as soon as
// one is known: ready, or why not. Records in, records with a `ready`
// section out, in completion order.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/options.hpp"
#include "cli/stream.hpp"
#include "cli/tool.hpp"
#include "record/jsonl.hpp"
#include "util/duration.hpp"
#include "wait/waiter.hpp"

namespace {

using vmu::Error;
using vmu::Exit;
namespace diag = vmu::diagnose;

// A CLI11 check whose message quotes the value.
CLI::Validator check(std::function<void(const std::string&)> fn) {
  return CLI::Validator(
      [fn](std::string& v) -> std::string {
        try {
          fn(v);
          return {};
        } catch (const Error& e) {
          return e.what();
        }
      },
      "");
}

std::string secs(std::int64_t ms) {
  return vmu::format_duration(std::chrono::milliseconds(ms));
}

bool worth_a_line(const diag::Event& e) {
  switch (e.kind) {
    case diag::Kind::milestone:
    case diag::Kind::unit:
    case diag::Kind::warning:
    case diag::Kind::failure:
      return true;
    case diag::Kind::info:
      return e.what == "probe";
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-wait-ready",
                      "Wait until each VM's agent answers its health check; fail fast, in words, "
                      "when the console, the VMM or the network says it never will.");
  CLI::App& app = tool.app();
  vmu::wait::Options o;
  using vmu::cli::duration;
  using namespace std::chrono_literals;
  unsigned port = 8080;
  std::string expect = "200", timeout = "120s", connect_timeout = "5s", request_timeout = "10s";
  std::vector<std::string> graces;
  const std::string probe_g = "The health check", verdict_g = "Verdicts";
  tool.add_id_option(&app, "VM to wait for (instead of records on stdin; repeatable)", true);
  app.add_option("--port", port, "Agent port to probe")
      ->type_name("PORT")
      ->capture_default_str()
      ->check(vmu::cli::range(1, 65535))
      ->group(probe_g);
  app.add_option("--path", o.path, "HTTP path to GET")
      ->type_name("PATH")
      ->capture_default_str()
      ->check(check([](const std::string& v) {
        bool ok = !v.empty() && v.front() == '/';
        for (char c : v) ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
        if (!ok)
          throw Error(Exit::usage,
                      fmt::format("'{}' is not a URL path (it starts with '/', no spaces)", v));
      }))
      ->group(probe_g);
  app.add_option("--expect-status", expect, "Status that means ready: a code, or a range 200-299")
      ->type_name("CODE")
      ->capture_default_str()
      ->check(check([](const std::string& v) { vmu::wait::parse_status_range(v); }))
      ->group(probe_g);
  app.add_option("--connect-timeout", connect_timeout, "Deadline of one probe's TCP connect")
      ->type_name("DURATION")
      ->capture_default_str()
      ->check(duration(1ms, 10min))
      ->group(probe_g);
  app.add_option("--request-timeout", request_timeout, "Deadline of one whole probe request")
      ->type_name("DURATION")
      ->capture_default_str()
      ->check(duration(1ms, 10min))
      ->group(probe_g);
  app.add_option("--timeout", timeout, "Deadline per VM, from when its wait begins: 90, 90s, 2m")
      ->type_name("DURATION")
      ->capture_default_str()
      ->check(duration(1ms))
      ->group(verdict_g);
  app.add_option("--unit", o.units,
                 "Another unit that matters, besides the record's agent.units (repeatable)")
      ->type_name("NAME")
      ->group(verdict_g);
  app.add_option("--fail-on", o.fail_on, "Console regex that means failed (repeatable)")
      ->type_name("REGEX")
      ->group(verdict_g);
  app.add_option("--ready-on", o.ready_on, "Console regex that means ready (repeatable)")
      ->type_name("REGEX")
      ->group(verdict_g);
  app.add_option("--grace", graces,
                 "Change a grace period, e.g. port=20s (repeatable; names in vm-wait-ready(1))")
      ->type_name("NAME=DURATION")
      ->check(check([](const std::string& v) {
        const auto eq = v.find('=');
        diag::Graces g;
        if (eq == std::string::npos || !diag::grace_field(g, v.substr(0, eq)))
          throw Error(Exit::usage, fmt::format("'{}' is not NAME=DURATION with NAME one of {}", v,
                                               fmt::join(diag::grace_names(), ", ")));
        vmu::parse_duration(v.substr(eq + 1), "--grace");
      }))
      ->group(verdict_g);
  app.add_option("--redact", o.redact,
                 "Also redact the value of KEY from the image's env file (repeatable)")
      ->type_name("KEY")
      ->check(vmu::cli::env_key())
      ->group("Secrets");
  bool list_patterns = false;
  app.add_flag("--list-patterns", list_patterns,
               "Print the console pattern catalog as JSON Lines and exit")
      ->group(verdict_g);
  tool.add_example(&app,
                   "vmnet-alloc -p 192.168.100.0/24 | rootfs-clone --golden g.ext4 |\n"
                   "  agent-inject ... | fc-launch ... | vm-wait-ready --timeout 2m",
                   "Boot a VM and wait until its agent answers GET /health on port 8080.");
  tool.add_example(&app, "vm-wait-ready --id vm-3f9c2a1b --grace port=60s",
                   "Wait for a VM launched earlier, whose agent binds its port late.");
  tool.add_example(&app, "vm-wait-ready --id vm-3f9c2a1b --retry --ready-on 'agent: READY'",
                   "Wait again for a VM that was not ready, taking the agent's own line as "
                   "ready.");
  tool.add_example(&app, "vm-wait-ready --list-patterns | jq -r .id",
                   "The ids of the console patterns a verdict can cite.");

  return tool.main(argc, argv, [&]() -> int {
    o.port = static_cast<int>(port);
    o.expect = vmu::wait::parse_status_range(expect);
    o.timeout = vmu::parse_duration(timeout, "--timeout");
    o.connect_timeout = vmu::parse_duration(connect_timeout, "--connect-timeout");
    o.request_timeout = vmu::parse_duration(request_timeout, "--request-timeout");
    for (const auto& g : graces) {
      const auto eq = g.find('=');
      *diag::grace_field(o.graces, g.substr(0, eq)) =
          vmu::parse_duration(g.substr(eq + 1), "--grace").count();
    }
    // Bad regexes are usage errors before anything starts.
    diag::Catalog catalog;
    for (const auto& r : o.fail_on) catalog.add_fail_on(r);
    for (const auto& r : o.ready_on) catalog.add_ready_on(r);
    if (list_patterns) {
      vmu::LineWriter out(STDOUT_FILENO);
      for (const auto& p : catalog.patterns()) {
        const auto& d = p.def;
        vmu::Json j = {{"id", d.id}, {"kind", diag::kind_word(d.kind)}};
        if (!d.name.empty()) j[d.kind == diag::Kind::failure ? "reason" : "name"] = d.name;
        if (!d.needle.empty()) j["needle"] = d.needle;
        j["regex"] = p.user ? p.user_regex : std::string(d.regex);
        j["words"] = d.words;
        if (!out.write(j.dump())) break;
      }
      return 0;
    }

    // Records are saved (fsync) by writer threads: the event loop never
    // waits for a disk while other VMs wait for their verdict.
    vmu::cli::RecordStream stream(tool, 8);
    vmu::wait::Waiter waiter(o, vmu::wait::kernel_hostnet());
    auto& log = tool.log();
    // On a terminal (not -q) one live line per VM, redrawn at most five
    // times a second, with event lines printed above them; plain event
    // lines otherwise.
    const bool live = log.progress_shown();
    auto last_drawn = std::chrono::steady_clock::now() - std::chrono::seconds(1);

    auto start = [&](vmu::Record rec) {
      try {
        waiter.add(rec);
        log.debug("{}: waiting for {}:{}{}", rec.id(), rec.get("net").value("ip", "?"), o.port,
                  o.path);
      } catch (const Error& e) {
        log.error("{}: {}", rec.id(), e.what());
        stream.finish(std::move(rec),
                      vmu::RecordError{tool.name(), e.code(), e.reason(), e.what()});
      }
    };
    auto verdict = [&](vmu::wait::Finished f) {
      log.end_live(f.rec.id());
      const auto& v = f.verdict;
      const std::int64_t elapsed = f.rec.get("ready").value("elapsed_ms", std::int64_t{0});
      if (v.ok) {
        log.info("{}: ready after {} ({})", f.rec.id(), secs(elapsed), v.message);
        stream.finish(std::move(f.rec), std::nullopt);
      } else {
        log.error("{}: {} after {}: {}", f.rec.id(), v.reason, secs(elapsed), v.message);
        stream.finish(std::move(f.rec), vmu::RecordError{tool.name(), v.code, v.reason, v.message});
      }
    };

    if (stream.input_fd() < 0)
      for (auto& r : stream.read_available()) start(std::move(r));
    bool gone = false;  // the reader of stdout: nobody would receive more
    while (!stream.input_done() || waiter.active() > 0) {
      if (vmu::cli::Tool::interrupted()) break;
      if ((gone = stream.output_gone())) break;
      auto st = waiter.step(stream.input_fd(), std::chrono::milliseconds(250));
      if (st.input_ready)
        for (auto& r : stream.read_available()) start(std::move(r));
      for (const auto& n : st.notes) {
        if (n.event.kind == diag::Kind::warning)
          log.warn("{}: +{}: {}", n.id, secs(n.elapsed_ms), n.event.words);
        else if (!live && worth_a_line(n.event))
          log.info("{}: +{}: {}", n.id, secs(n.elapsed_ms), n.event.words);
        else
          log.debug("{}: +{}: {}", n.id, secs(n.elapsed_ms), n.event.words);
      }
      for (auto& f : st.finished) verdict(std::move(f));
      const auto now = std::chrono::steady_clock::now();
      if (live && now - last_drawn >= std::chrono::milliseconds(200)) {
        last_drawn = now;
        std::vector<std::pair<std::string, std::string>> lines;
        for (const auto& p : waiter.progress())
          lines.emplace_back(p.id,
                             fmt::format("{}  {:>7}  {:<18}  {}", p.id, secs(p.elapsed_ms),
                                         p.milestone.empty() ? "-" : p.milestone, p.last_error));
        log.live(lines);
      }
    }
    log.end_progress();
    std::vector<std::string> not_waited;
    if (vmu::cli::Tool::interrupted()) {
      for (auto& f : waiter.abort_all("interrupted")) {
        log.error("{}: interrupted", f.rec.id());
        stream.finish(std::move(f.rec), vmu::RecordError{tool.name(), Exit::interrupted,
                                                         "interrupted", f.verdict.message});
      }
    } else if (gone) {
      // Nobody reads the verdicts: the waits end, their records as they were.
      for (auto& f : waiter.abort_all("output closed")) not_waited.push_back(f.rec.id());
    }
    stream.close(not_waited);
    return stream.exit_code();
  });
}
