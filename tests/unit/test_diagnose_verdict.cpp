#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "diagnose/verdict.hpp"

using namespace vmu::diagnose;
using vmu::Exit;

namespace {

UnitFacts agent(std::string restart = "no") {
  UnitFacts f = facts_from_name("vm-agent.service");
  f.description = "vmutils example agent";
  f.restart = std::move(restart);
  f.restart_sec_ms = 100;
  f.enabled_in = {"multi-user.target.wants"};
  return f;
}

// A fake guest: console lines at chosen times, a probe state, a VMM, and
// decide() on a fake clock.
struct Guest {
  Catalog cat;
  std::vector<UnitFacts> units;
  ConsoleAnalyzer an;
  ProbeState p;
  VmmState v;
  DecideConfig cfg;
  explicit Guest(std::vector<UnitFacts> u = {agent()}) : units(u), an(cat, u) {
    p.url = "http://10.0.0.2:8080/health";
    p.ip = "10.0.0.2";
    p.tap = "vmtap2";
    p.bridge = "vmbr0";
    cfg.deadline_ms = 120000;
    v.watched = true;
    v.pid = 4242;
  }
  void say(std::int64_t ms, const std::string& line) { an.line(line, ms); }
  Decision at(std::int64_t now, bool final = false) {
    return decide(an.state(), units, p, v, cfg, now, final);
  }
  void refused(std::int64_t ms) {
    ++p.attempts;
    ++p.refused;
    p.last = Outcome::refused;
    p.last_ms = ms;
    p.ever_answered = true;
    if (!p.refused_since_ms) p.refused_since_ms = ms;
  }
  void unreachable(std::int64_t ms, std::string neigh = "FAILED") {
    ++p.attempts;
    ++p.unreachable;
    p.last = Outcome::unreachable;
    p.last_ms = ms;
    p.neighbour = std::move(neigh);
    p.tap_rx_packets = 0;
  }
  void boot_to_multi_user(std::int64_t ms, bool agent_started = true) {
    say(ms - 3000, "[    0.0] Linux version 6.1.0");
    say(ms - 2000, "[    4.5] systemd[1]: systemd 252 running in system mode (+PAM)");
    if (agent_started) say(ms - 100, "[  OK  ] Started vm-agent.service - vmutils example agent.");
    say(ms, "[  OK  ] Reached target multi-user.target - Multi-User System.");
  }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("verdict: ready as soon as the probe got an expected status") {
  Guest g;
  CHECK_FALSE(g.at(100).verdict);
  g.p.ok_ms = 150;
  g.p.ok_status = 200;
  g.p.last = Outcome::ok;
  auto d = g.at(150);
  REQUIRE(d.verdict);
  CHECK(d.verdict->ok);
  CHECK(d.verdict->reason == "ready");
  CHECK(d.verdict->code == Exit::ok);
}

TEST_CASE("verdict: --ready-on on the console is ready too") {
  Guest g;
  g.cat.add_ready_on("agent: READY");
  ConsoleAnalyzer an(g.cat, g.units);
  an.line("vm-agent[9]: agent: READY", 50);
  auto d = decide(an.state(), g.units, g.p, g.v, g.cfg, 60);
  REQUIRE(d.verdict);
  CHECK(d.verdict->ok);
}

TEST_CASE("verdict: a failed unit (Restart=no) after its short settle period") {
  Guest g;
  g.say(9000, "[  OK  ] Started vm-agent.service - vmutils example agent.");
  g.say(9800, "[ 41.3] vm-agent[167]: SESSION_ID not set");
  g.say(9800,
        "[ 41.4] systemd[1]: vm-agent.service: Main process exited, code=exited, status=1/FAILURE");
  g.say(9800, "[ 41.6] systemd[1]: vm-agent.service: Failed with result 'exit-code'.");
  auto early = g.at(9900);
  CHECK_FALSE(early.verdict);
  CHECK(early.recheck_ms == 9800 + g.cfg.graces.settle_no_restart);
  auto d = g.at(early.recheck_ms);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_failed");
  CHECK(d.verdict->code == Exit::guest_failed);
  CHECK(d.verdict->unit == "vm-agent.service");
  CHECK(contains(d.verdict->message, "vm-agent said \"SESSION_ID not set\""));
  CHECK(contains(d.verdict->message, "exit status 1/FAILURE"));
  bool quoted = false;
  for (const auto& e : d.verdict->evidence) quoted = quoted || contains(e, "SESSION_ID not set");
  CHECK(quoted);
}

TEST_CASE("verdict: ExecStart missing names the unit, the program and 203/EXEC") {
  Guest g;
  g.say(5000,
        "[ 39.4] (vm-agent)[168]: vm-agent.service: Failed to locate executable "
        "/opt/vm-agent/vm-agent: No such file or directory");
  g.say(5000,
        "[ 39.5] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC");
  g.say(5000, "[FAILED] Failed to start vm-agent.service - vmutils example agent.");
  auto d = g.at(5000, /*final=*/false);
  CHECK_FALSE(d.verdict);
  d = g.at(5300);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_failed");
  CHECK(d.verdict->message ==
        "vm-agent.service: Failed to locate executable /opt/vm-agent/vm-agent: No such file or "
        "directory (exit status 203/EXEC: the program could not be executed: a missing or "
        "non-executable file, or a missing interpreter)");
}

TEST_CASE("verdict: unknown Restart= waits for a restart; a scheduled restart is not a failure") {
  Guest g({agent("")});
  g.say(1000, "systemd[1]: Started vm-agent.service - a.");
  g.say(2000, "systemd[1]: vm-agent.service: Main process exited, code=exited, status=1/FAILURE");
  CHECK_FALSE(g.at(2000 + g.cfg.graces.settle - 1).verdict);
  g.say(2100, "systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at 1.");
  CHECK_FALSE(g.at(2000 + g.cfg.graces.settle + 10).verdict);  // restarting
  g.say(2200, "systemd[1]: Started vm-agent.service - a.");
  CHECK_FALSE(g.at(5000).verdict);
}

TEST_CASE("verdict: a crash loop at the third restart, or when systemd gives up") {
  Guest g({agent("on-failure")});
  g.say(1000, "systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at 2.");
  CHECK_FALSE(g.at(1000).verdict);
  g.say(1500, "systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at 3.");
  auto d = g.at(1500);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_crash_loop");
  Guest h({agent("always")});
  h.say(1000, "systemd[1]: vm-agent.service: Start request repeated too quickly.");
  auto e = h.at(1000);
  REQUIRE(e.verdict);
  CHECK(e.verdict->reason == "unit_crash_loop");
  CHECK(contains(e.verdict->message, "gave up"));
}

TEST_CASE("verdict: a boot failure is immediate") {
  Guest g;
  g.say(3000, "[ 3.0] Kernel panic - not syncing: Fatal exception");
  auto d = g.at(3000);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "kernel_panic");
  CHECK(d.verdict->evidence.front() == "[ 3.0] Kernel panic - not syncing: Fatal exception");
}

TEST_CASE("verdict: VMM exit; a pending unit failure wins when the console is final") {
  Guest g;
  g.say(500, "[    0.0] Linux version 6.1.0");
  g.v.exited = true;
  g.v.exited_ms = 900;
  g.v.status = "exit status unknown (not our child)";
  g.v.log_tail = {"KVM internal error. Suberror: 1"};
  auto d = g.at(900, true);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "vmm_exited");
  CHECK(contains(d.verdict->message, "pid 4242"));
  CHECK(contains(d.verdict->message, "KVM internal error"));
  CHECK(contains(d.verdict->message, "kernel_up"));
  Guest h;
  h.say(500, "systemd[1]: vm-agent.service: Main process exited, code=killed, status=9/KILL");
  h.v.exited = true;
  auto e = h.at(520, true);
  REQUIRE(e.verdict);
  CHECK(e.verdict->reason == "unit_failed");
  CHECK(contains(e.verdict->message, "killed by signal 9/KILL"));
}

TEST_CASE("verdict: multi-user reached, agent never started -> unit_not_started after the grace") {
  Guest g;
  g.boot_to_multi_user(20000, false);
  auto d = g.at(20000 + g.cfg.graces.unit_start - 1);
  CHECK_FALSE(d.verdict);
  CHECK(d.recheck_ms == 20000 + g.cfg.graces.unit_start);
  d = g.at(20000 + g.cfg.graces.unit_start);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_not_started");
  CHECK(d.verdict->unit == "vm-agent.service");
  CHECK(contains(d.verdict->expected, "'Started vm-agent.service'"));
  CHECK(contains(d.verdict->message, "multi-user.target"));
  // Post mortem: no grace.
  Guest h;
  h.boot_to_multi_user(20000, false);
  CHECK(h.at(20001, true).verdict);
}

TEST_CASE("verdict: 'Startup finished' shortens the wait for the unit") {
  Guest g;
  g.boot_to_multi_user(20000, false);
  g.say(20100, "systemd[1]: Startup finished in 4.2s (kernel) + 16s (userspace) = 20.2s.");
  auto d = g.at(20100 + g.cfg.graces.boot_finished);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_not_started");
}

TEST_CASE("verdict: another unit failing never gives a verdict") {
  Guest g;
  g.boot_to_multi_user(10000);
  g.say(10000, "[FAILED] Failed to start systemd-networkd-wait-online.service - Wait for Network.");
  g.p.last = Outcome::none;
  auto d = g.at(11000);
  CHECK_FALSE(d.verdict);
  CHECK(g.an.state().warnings.size() == 1);
}

TEST_CASE("verdict: no network after multi-user -> network_down with the ARP evidence") {
  Guest g;
  g.boot_to_multi_user(20000);
  g.unreachable(21000);
  CHECK_FALSE(g.at(20000 + g.cfg.graces.network - 1).verdict);
  auto d = g.at(20000 + g.cfg.graces.network);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "network_down");
  CHECK(contains(d.verdict->message, "no ARP answer for 10.0.0.2 on vmbr0 (neighbour FAILED)"));
  CHECK(contains(d.verdict->message, "never sent a frame on vmtap2"));
  // The guest answers ARP: its network is up, no such verdict.
  Guest h;
  h.boot_to_multi_user(20000);
  h.unreachable(21000, "REACHABLE");
  h.p.last = Outcome::timeout;
  CHECK_FALSE(h.at(40000).verdict);
}

TEST_CASE("verdict: the unit runs, the port stays closed -> port_closed") {
  Guest g;
  g.boot_to_multi_user(20000);
  g.refused(20100);
  auto d = g.at(20100 + g.cfg.graces.port - 1);
  CHECK_FALSE(d.verdict);
  d = g.at(20100 + g.cfg.graces.port);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "port_closed");
  CHECK(contains(d.verdict->message,
                 "vm-agent.service is running but nothing accepts connections on 10.0.0.2:8080"));
}

namespace {
void report(Guest& g, std::int64_t ms, const std::vector<std::string>& body) {
  std::vector<std::string> text = {"begin v=1 port=8080 uptime=20"};
  text.insert(text.end(), body.begin(), body.end());
  text.push_back("end " + std::to_string(text.size() + 1));
  for (std::size_t n = 0; n < text.size(); ++n)
    g.say(ms, "vmu-report:1:" + std::to_string(n) + ":" + std::to_string(text[n].size()) + ":" +
                  text[n]);
}
}  // namespace

TEST_CASE("verdict: the reporter says the agent listens on loopback only") {
  Guest g;
  g.cfg.reporter = true;
  g.boot_to_multi_user(20000);
  report(
      g, 20500,
      {"listen 0100007F:1F90", "if eth0 up 1 x", "local 10.0.0.2", "route eth0 0000000A 00FFFFFF",
       "unit vm-agent.service ActiveState=active", "unit vm-agent.service SubState=running"});
  g.refused(20200);
  CHECK_FALSE(g.at(20200 + g.cfg.graces.port_reporter - 1).verdict);
  auto d = g.at(20200 + g.cfg.graces.port_reporter);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "port_closed");
  CHECK(d.verdict->message ==
        "vm-agent.service is running and listens on 127.0.0.1:8080 only: loopback, unreachable "
        "from the host");
}

TEST_CASE("verdict: the reporter shows an interface without an address") {
  Guest g;
  g.cfg.reporter = true;
  g.boot_to_multi_user(20000);
  report(g, 20500, {"if eth0 up 1 x", "networkd eth0 configuring degraded"});
  g.unreachable(20600);
  auto d = g.at(20500 + g.cfg.graces.port_reporter);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "network_down");
  CHECK(contains(d.verdict->message, "eth0 is up and has no IPv4 address (networkd: configuring)"));
}

TEST_CASE("verdict: the reporter says the unit is not enabled") {
  Guest g;
  g.boot_to_multi_user(20000, false);
  report(g, 19000,
         {"unit vm-agent.service LoadState=loaded", "unit vm-agent.service ActiveState=inactive",
          "unit vm-agent.service SubState=dead", "unit vm-agent.service UnitFileState=disabled"});
  auto d = g.at(20001);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "unit_not_started");
  CHECK(contains(d.verdict->message, "UnitFileState=disabled: not enabled"));
}

TEST_CASE("verdict: a 404 for long is bad_status; a 503 waits for the deadline") {
  Guest g;
  g.boot_to_multi_user(1000);
  g.p.last = Outcome::http_status;
  g.p.last_http = 404;
  g.p.bad_status_since_ms = 2000;
  g.p.ever_answered = true;
  auto d = g.at(2000 + g.cfg.graces.port);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "bad_status");
  g.p.last_http = 503;
  CHECK_FALSE(g.at(50000).verdict);
}

TEST_CASE("verdict: a silent console before multi-user is a stalled boot") {
  Guest g;
  g.say(1000, "[ 0.5] tsc: Marking TSC unstable due to could not calculate TSC khz");
  CHECK_FALSE(g.at(1000 + g.cfg.graces.stalled - 1).verdict);
  auto d = g.at(1000 + g.cfg.graces.stalled);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "boot_stalled");
  CHECK(contains(d.verdict->message, "could not calculate TSC khz"));
}

TEST_CASE("verdict: the deadline gives timeout (exit 3) with the last probe error in words") {
  Guest g;
  g.cfg.graces.stalled = 1000000;
  g.say(100, "[    0.0] Linux version 6.1.0");
  g.unreachable(500);
  auto d = g.at(119999);
  CHECK_FALSE(d.verdict);
  CHECK(d.recheck_ms == 120000);
  d = g.at(120000);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "timeout");
  CHECK(d.verdict->code == Exit::not_ready);
  CHECK(contains(d.verdict->message, "no route to 10.0.0.2 (EHOSTUNREACH)"));
  CHECK(contains(d.verdict->message, "the guest had reached kernel_up"));
  auto j = ready_json(*d.verdict, g.an.state(), g.p, g.v, g.cfg);
  CHECK(j["ok"] == false);
  CHECK(j["reason"] == "timeout");
  CHECK(j["attempts"] == 1);
  CHECK(j["milestones"]["kernel_up"] == 100);
  CHECK(j["console_tail"].size() == 1);
}

TEST_CASE("probe words") {
  ProbeState p;
  p.url = "http://10.0.0.2:8080/health";
  p.ip = "10.0.0.2";
  p.port = 8080;
  CHECK(p.describe() == "not probed yet");
  p.last = Outcome::refused;
  CHECK(contains(p.describe(), "nothing listens on port 8080"));
  p.last = Outcome::timeout;
  p.neighbour = "REACHABLE";
  p.bridge = "br0";
  p.tap = "tap0";
  p.tap_rx_packets = 12;
  CHECK(p.describe() ==
        "no answer from 10.0.0.2:8080 before the connect timeout: 10.0.0.2 answers ARP on br0 "
        "(neighbour REACHABLE); the guest has sent 12 frames on tap0");
  p.last = Outcome::http_status;
  p.last_http = 503;
  CHECK(p.describe() == "GET http://10.0.0.2:8080/health answered HTTP 503 (expected 200)");
}

TEST_CASE("verdict: a slow boot that keeps going is never network_down") {
  Guest g;
  g.say(0, "[    0.0] Linux version 6.1.0");
  g.say(16000, "[   16.8] systemd[1]: systemd 252 running in system mode (+PAM)");
  g.unreachable(17000);
  for (std::int64_t t = 17000; t <= 110000; t += 5000) {
    g.say(t, "[**    ] Job systemd-udev-trigger.service/start running (25s / 1min 48s)");
    CHECK_FALSE(g.at(t).verdict);
  }
}

TEST_CASE("verdict: a slow start of the network daemon itself is not network_down") {
  // A starved guest (a loaded host, several TCG boots): networkd's own
  // start job runs for long, then it configures the link at once.
  Guest g;
  g.say(0, "[    9.5] systemd[1]: systemd 252 running in system mode (+PAM)");
  g.unreachable(10000);
  for (std::int64_t t = 40000; t <= 110000; t += 5000) {
    g.say(t, "[**    ] Job systemd-networkd.service/start running (33s / 1min 53s)");
    g.say(t + 1, "[ ***  ] A start job is running for Network Configuration (34s / 1min 53s)");
    CHECK_FALSE(g.at(t + 1).verdict);
  }
}

TEST_CASE("verdict: a boot held up waiting for its network is network_down") {
  Guest g;
  g.say(0, "[    4.5] systemd[1]: systemd 252 running in system mode (+PAM)");
  g.say(10000, "[ ***  ] A start job is running for Wait for Network to be Configured (5s / 2min)");
  g.unreachable(11000);
  CHECK_FALSE(g.at(10000 + g.cfg.graces.network_early - 1).verdict);
  auto d = g.at(10000 + g.cfg.graces.network_early);
  REQUIRE(d.verdict);
  CHECK(d.verdict->reason == "network_down");
  CHECK(contains(d.verdict->message, "the boot began to wait for the network"));
}
