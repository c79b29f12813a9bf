#include <catch2/catch.hpp>
#include <string>

#include "diagnose/offline.hpp"

using namespace vmu::diagnose;

namespace {

const char* kBoot =
    "[    0.000000] Linux version 6.1.0-28-amd64\n"
    "[    2.200000] Run /init as init process\n"
    "[    8.000000] systemd[1]: systemd 252 running in system mode\n";

std::vector<UnitFacts> agent() {
  UnitFacts f = facts_from_name("vm-agent.service");
  add_unit_file(f, "[Service]\nType=exec\nExecStart=/opt/vm-agent/vm-agent\nRestart=no\n");
  f.enabled_in = {"multi-user.target.wants"};
  return {f};
}

}  // namespace

TEST_CASE("console_timestamp_ms") {
  CHECK(console_timestamp_ms("[   12.345678] systemd[1]: x") == 12345);
  CHECK(console_timestamp_ms("  [0.5] x") == 500);
  CHECK(console_timestamp_ms("[  OK  ] Started x") == std::nullopt);
  CHECK(console_timestamp_ms("no stamp [ 1.0]") == std::nullopt);
  CHECK(console_timestamp_ms("[ 1.]") == std::nullopt);
  CHECK(console_timestamp_ms("[ 12") == std::nullopt);
}

TEST_CASE("analyse_offline: a failed unit, at the guest's times") {
  Catalog c;
  OfflineInput in;
  const std::string log =
      std::string(kBoot) +
      "[   39.416308] (vm-agent)[168]: vm-agent.service: Failed to locate executable "
      "/opt/vm-agent/vm-agent: No such file or directory\n"
      "[   39.524314] systemd[1]: vm-agent.service: Main process exited, code=exited, "
      "status=203/EXEC\n"
      "[   39.576318] systemd[1]: vm-agent.service: Failed with result 'exit-code'.\n"
      "[  OK  ] Reached target multi-user.target - Multi-User System.\n"
      "[   40.380368] systemd[1]: Reached target multi-user.target - Multi-User System.\n";
  in.console = log;
  in.units = agent();
  auto r = analyse_offline(c, in);
  REQUIRE(r.verdict);
  CHECK(r.verdict->reason == "unit_failed");
  CHECK(r.verdict->unit == "vm-agent.service");
  CHECK(r.end_ms == 40380);
  CHECK(r.analysis.milestone("multi_user"));
  CHECK(*r.analysis.milestone("kernel_up") == 0);
}

TEST_CASE("analyse_offline: a healthy console says nothing; a dead VMM is the verdict") {
  Catalog c;
  OfflineInput in;
  const std::string log = std::string(kBoot) +
                          "[   10.000000] systemd[1]: Started vm-agent.service - agent.\n"
                          "[   10.100000] systemd-networkd[150]: eth0: DHCPv4 address "
                          "10.0.0.2/24, gateway 10.0.0.1 acquired from 10.0.0.1\n"
                          "[   11.000000] systemd[1]: Reached target multi-user.target - "
                          "Multi-User System.\n";
  in.console = log;
  in.units = agent();
  CHECK_FALSE(analyse_offline(c, in).verdict);
  in.vmm_exited = true;
  in.vmm_pid = 42;
  in.vmm_status = "it was found gone";
  auto r = analyse_offline(c, in);
  REQUIRE(r.verdict);
  CHECK(r.verdict->reason == "vmm_exited");
}

TEST_CASE("analyse_offline: the post mortem of a log with and without time stamps") {
  // Was diagnose::post_mortem's test: the one entry point gives the same
  // verdicts, at the guest's own times where the console has them.
  Catalog c;
  OfflineInput in;
  in.units = agent();
  const std::string log =
      "[    0.0] Linux version 6.1.0\r\n"
      "[    4.5] systemd[1]: systemd 252 running in system mode (+PAM)\r\n"
      "[   41.3] vm-agent[167]: SESSION_ID not set\r\n"
      "[   41.4] systemd[1]: vm-agent.service: Main process exited, code=exited, "
      "status=1/FAILURE\r\n"
      "[  OK  ] Reached target multi-user.target - Multi-User System.\r\n"
      "vmguest login: ";
  in.console = log;
  auto pm = analyse_offline(c, in);
  REQUIRE(pm.verdict);
  CHECK(pm.verdict->reason == "unit_failed");
  CHECK(pm.verdict->message.find("SESSION_ID not set") != std::string::npos);
  CHECK(pm.verdict->at_ms == 41400);
  CHECK(pm.analysis.milestone("login_prompt"));
  // Nothing wrong: no verdict. No stamps at all, and the unit never
  // started after multi-user: that is named.
  in.console =
      "[  OK  ] Started vm-agent.service - x.\r\n[  OK  ] Reached target multi-user.target - "
      "Multi-User System.\r\n";
  CHECK_FALSE(analyse_offline(c, in).verdict);
  in.console = "[  OK  ] Reached target multi-user.target - Multi-User System.\r\n";
  auto never = analyse_offline(c, in);
  REQUIRE(never.verdict);
  CHECK(never.verdict->reason == "unit_not_started");
}
