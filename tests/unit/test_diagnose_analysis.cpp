#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "diagnose/analysis.hpp"

using namespace vmu::diagnose;

namespace {

UnitFacts agent_facts() {
  UnitFacts f = facts_from_name("vm-agent.service");
  add_unit_file(f,
                "[Unit]\nDescription=vmutils example agent\n[Service]\nType=exec\n"
                "EnvironmentFile=/etc/environment\nExecStart=/opt/vm-agent/vm-agent\nRestart=no\n");
  f.enabled_in = {"multi-user.target.wants"};
  return f;
}

}  // namespace

TEST_CASE("unit facts from the unit file") {
  UnitFacts f = agent_facts();
  CHECK(f.description == "vmutils example agent");
  CHECK(f.restart == "no");
  CHECK(f.type == "exec");
  CHECK(f.idents == std::vector<std::string>{"vm-agent"});
  UnitFacts g = facts_from_name("web.service");
  add_unit_file(g,
                "[Service]\nExecStart=/usr/bin/node /srv/app.js\nRestart=always\nRestartSec=5s\n"
                "SyslogIdentifier=webapp\n");
  CHECK(g.restart == "always");
  CHECK(g.restart_sec_ms == 5000);
  CHECK(g.idents == std::vector<std::string>{"web", "node", "webapp"});
}

TEST_CASE("journal source prefix") {
  auto s = journal_source("[   41.398084] vm-agent[167]: SESSION_ID not set");
  REQUIRE(s);
  CHECK(s->first == "vm-agent");
  CHECK(s->second == "SESSION_ID not set");
  auto p =
      journal_source("[ 39.4] (vm-agent)[168]: vm-agent.service: Failed to locate executable x");
  REQUIRE(p);
  CHECK(p->first == "vm-agent");
  CHECK_FALSE(journal_source("[  OK  ] Started x."));
  CHECK_FALSE(journal_source("plain text"));
}

TEST_CASE("analysis: a healthy boot's milestones, in order, from raw bytes") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  const std::string boot =
      "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\r\n"
      "[    2.646742] Run /init as init process\r\n"
      "[    3.689318] EXT4-fs (vda): mounted filesystem with ordered data mode.\r\n"
      "initrd: switching to /dev/vda (rw), exec /sbin/init\r\n"
      "[    4.563338] systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM)\r\n"
      "\r\nWelcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!\r\n";
  an.feed(boot, 100);
  an.feed(
      "[   28.065578] systemd[1]: Starting vm-agent.service - vmutils example agent...\r\n"
      "         Starting \x1b[0;1;39mvm-agent.service\x1b[0m - vmutils example agent...\r\r\n"
      "[   28.121581] systemd-networkd[158]: eth0: Link UP\r\n"
      "[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mvm-agent.service\x1b[0m - vmutils example "
      "agent.\r\r\n"
      "[   28.141582] systemd[1]: Started vm-agent.service - vmutils example agent.\r\n"
      "[   28.161584] systemd-networkd[158]: eth0: Gained carrier\r\n"
      "[   28.305593] vm-agent[168]: vm-agent: listening on port 8080\r\n"
      "[   28.329594] systemd-networkd[158]: eth0: DHCPv4 address 10.84.0.2/24, gateway 10.84.0.1 "
      "acquired from 10.84.0.1\r\n",
      2000);
  an.feed(
      "[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User "
      "System.\r\r\n"
      "[   28.985635] systemd[1]: Startup finished in 4.252s (kernel) + 24.729s (userspace) = "
      "28.981s.\r\n"
      "\r\r\nDebian GNU/Linux 12 vmguest ttyS0\r\n\r\nvmguest login: ",
      2500);
  const Analysis& a = an.state();
  CHECK(a.milestone("kernel_up") == 100);
  CHECK(a.milestone("initramfs") == 100);
  CHECK(a.milestone("root_mounted") == 100);
  CHECK(a.milestone("init_started") == 100);
  CHECK(a.milestone("link_up") == 2000);
  CHECK(a.milestone("network_configured") == 2000);
  CHECK(a.milestone("multi_user") == 2500);
  CHECK(a.milestone("boot_finished") == 2500);
  CHECK_FALSE(a.milestone("login_prompt"));  // no newline yet
  an.finish(2600);
  CHECK(an.state().milestone("login_prompt") == 2600);
  CHECK(a.guest_address == "10.84.0.2");
  const UnitState& s = a.units.at("vm-agent.service");
  CHECK(s.started_ms == 2000);
  CHECK(s.runs == 1);  // the status line and the journal line are one start
  CHECK_FALSE(s.ended_ms);
  CHECK(s.output.size() == 1);
  CHECK(a.warnings.empty());
  CHECK_FALSE(a.failure);
  CHECK(a.latest_milestone()->first == "login_prompt");
  auto ev = an.take_events();
  CHECK(!ev.empty());
  CHECK(an.take_events().empty());
}

TEST_CASE("analysis: ExecStart missing (Type=exec)") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  for (const char* l : {
           "[   39.332302] systemd[1]: Starting vm-agent.service - vmutils example agent...",
           "[   39.416308] (vm-agent)[168]: vm-agent.service: Failed to locate executable "
           "/opt/vm-agent/vm-agent: No such file or directory",
           "[   39.444309] (vm-agent)[168]: vm-agent.service: Failed at step EXEC spawning "
           "/opt/vm-agent/vm-agent: No such file or directory",
           "[   39.524314] systemd[1]: vm-agent.service: Main process exited, code=exited, "
           "status=203/EXEC",
           "[FAILED] Failed to start vm-agent.service - vmutils example agent.",
           "See 'systemctl status vm-agent.service' for details.",
           "[   39.576318] systemd[1]: vm-agent.service: Failed with result 'exit-code'.",
       })
    an.line(l, 5000);
  const UnitState& s = an.state().units.at("vm-agent.service");
  CHECK(s.ended_ms == 5000);
  CHECK(s.failed_to_start);
  CHECK(s.exit_status == 203);
  CHECK(s.exit_name == "EXEC");
  CHECK(s.result == "exit-code");
  CHECK(s.cause == "Failed to locate executable /opt/vm-agent/vm-agent: No such file or directory");
  CHECK(s.output.empty());  // systemd's pre-exec lines are evidence, not the agent's output
  CHECK(s.evidence.size() == 5);
}

TEST_CASE("analysis: one failure said twice (status line, journal) is one event") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  int n = 0;
  auto failed_events = [&] {
    for (const auto& e : an.take_events()) n += e.what == "failed";
  };
  for (const char* l : {
           "[   39.332302] systemd[1]: Starting vm-agent.service - vmutils example agent...",
           "[   39.524314] systemd[1]: vm-agent.service: Main process exited, code=exited, "
           "status=203/EXEC",
           "[FAILED] Failed to start vm-agent.service - vmutils example agent.",
           "[   39.576318] systemd[1]: Failed to start vm-agent.service - vmutils example agent.",
       }) {
    an.line(l, 5000);
    failed_events();
  }
  CHECK(n == 1);
  // A new start, and a new failure: a second event.
  an.line("[   41.0] systemd[1]: Starting vm-agent.service - vmutils example agent...", 6000);
  an.line("[FAILED] Failed to start vm-agent.service - vmutils example agent.", 6100);
  failed_events();
  CHECK(n == 2);
}

TEST_CASE("analysis: the agent's own stderr is its output; description-only status lines resolve") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  an.line("[  OK  ] Started vmutils example agent.", 10);
  an.line("[   41.398084] vm-agent[167]: SESSION_ID not set", 20);
  an.line(
      "[   41.462088] systemd[1]: vm-agent.service: Main process exited, code=exited, "
      "status=1/FAILURE",
      20);
  const UnitState& s = an.state().units.at("vm-agent.service");
  CHECK(s.started_ms == 10);
  CHECK(s.ended_ms == 20);
  REQUIRE(s.output.size() == 1);
  CHECK(s.output[0].text == "[   41.398084] vm-agent[167]: SESSION_ID not set");
}

TEST_CASE("analysis: ellipsized status lines still name the unit") {
  Catalog cat;
  UnitFacts f = facts_from_name("vm-browser-oauth-agent.service");
  f.description = "VM Browser OAuth Agent for sessions";
  ConsoleAnalyzer an(cat, {f});
  an.line("[  OK  ] Started vm-browser-\xE2\x80\xA6ice - VM Browser OAuth Agent for sessions.", 7);
  CHECK(an.state().units.at("vm-browser-oauth-agent.service").started_ms == 7);
  ConsoleAnalyzer an2(cat, {f});
  an2.line("[FAILED] Failed to start VM Browser OAuth Ag\xE2\x80\xA6", 8);
  CHECK(an2.state().units.at("vm-browser-oauth-agent.service").failed_to_start);
}

TEST_CASE("analysis: restarts and the start limit") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {facts_from_name("vm-agent.service")});
  an.line("systemd[1]: Started vm-agent.service - a.", 1);
  an.line("systemd[1]: vm-agent.service: Main process exited, code=exited, status=1/FAILURE", 2);
  an.line("systemd[1]: vm-agent.service: Failed with result 'exit-code'.", 2);
  an.line("systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at 1.", 3);
  const UnitState& s = an.state().units.at("vm-agent.service");
  CHECK(s.restart_pending);
  CHECK(s.restarts == 1);
  an.line("systemd[1]: Started vm-agent.service - a.", 4);
  CHECK_FALSE(s.ended_ms);
  CHECK(s.runs == 2);
  an.line("systemd[1]: vm-agent.service: Start request repeated too quickly.", 9);
  CHECK(s.start_limit);
}

TEST_CASE("analysis: another unit failing is a warning, not the agent's failure") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  an.line(
      "[FAILED] Failed to start systemd-networkd-wait-online.service - Wait for Network to be "
      "Configured.",
      1);
  an.line("systemd[1]: systemd-networkd-wait-online.service: Failed with result 'timeout'.", 1);
  an.line("[ 20.0] Out of memory: Killed process 99 (hog) total-vm:1kB", 2);
  const Analysis& a = an.state();
  CHECK_FALSE(a.failure);
  CHECK_FALSE(a.units.at("vm-agent.service").ended_ms);
  REQUIRE(a.warnings.size() == 3);
  CHECK(a.warnings[0].reason == "unit_failed");
  CHECK(a.warnings[2].reason == "oom");
}

TEST_CASE("analysis: the agent killed by the OOM killer") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  an.line("[ 20.0] Out of memory: Killed process 281 (vm-agent) total-vm:1000kB", 5);
  CHECK(an.state().units.at("vm-agent.service").oom);
}

TEST_CASE("analysis: boot failures, first one kept") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {});
  an.line("[ 2.1] VFS: Cannot open root device \"vda\" or unknown-block(0,0): error -6", 5);
  an.line("[ 2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
          6);
  REQUIRE(an.state().failure);
  CHECK(an.state().failure->reason == "no_root_fs");
  CHECK(an.state().failure->ms == 5);
}

TEST_CASE("analysis: reporter blocks are parsed, not kept as console tail") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  an.line("vmu-report:1:0:99:begin v=1", 1);  // wrong length: ignored
  const std::string body = "listen 0100007F:1F90", begin = "begin v=1 port=8080 uptime=1";
  an.line("vmu-report:2:0:" + std::to_string(begin.size()) + ":" + begin, 2);
  an.line("vmu-report:2:1:" + std::to_string(body.size()) + ":" + body, 2);
  an.line("vmu-report:2:2:5:end 3", 2);
  const Analysis& a = an.state();
  REQUIRE(a.report);
  CHECK(a.report->listeners.size() == 1);
  CHECK(a.reports == 1);
  CHECK(a.tail.empty());
}

TEST_CASE("analysis: garbage and overlong lines are survived") {
  Catalog cat;
  ConsoleAnalyzer an(cat, {agent_facts()});
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk.push_back(static_cast<char>((i * 37) & 0xFF));
  an.feed(junk, 1);
  an.feed(std::string(10000, 'A') + "\n", 2);
  an.feed("\x1b[31mKernel panic - not syncing: boom\x1b[0m\n", 3);
  REQUIRE(an.state().failure);
  CHECK(an.state().failure->reason == "kernel_panic");
  for (const auto& l : an.state().tail) CHECK(l.text.size() <= kMaxConsoleLine * 3);
}
