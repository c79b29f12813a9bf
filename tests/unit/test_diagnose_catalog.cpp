#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "diagnose/catalog.hpp"
#include "util/error.hpp"

using namespace vmu::diagnose;

namespace {

// One real-looking console line per catalog entry (several where the entry
// has alternatives). Every built-in id must be here: a new entry needs a
// sample.
const std::multimap<std::string, std::string> kSamples = {
    {"initrd_no_init", "initrd: FATAL: /sbin/init not found on /dev/vda"},
    {"initrd_no_root_device",
     "initrd: FATAL: root device /dev/vda did not appear within 10 s (block devices: )"},
    {"initrd_mount_failed", "initrd: FATAL: cannot mount /dev/vda (options rw) on /newroot"},
    {"initrd_no_root_arg", "initrd: FATAL: no root= on the kernel command line"},
    {"initrd_fatal", "initrd: FATAL: cannot mount /proc"},
    {"vfs_no_root",
     "[    2.1] VFS: Cannot open root device \"vda\" or unknown-block(0,0): error -6"},
    {"vfs_no_root", "[    2.1] VFS: Unable to mount root fs on unknown-block(0,0)"},
    {"initramfs_gave_up", "Gave up waiting for root file system device.  Common problems:"},
    {"initramfs_alert", "ALERT!  UUID=1234 does not exist.  Dropping to a shell!"},
    {"kill_init",
     "[    4.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100"},
    {"no_working_init",
     "[    3.0] Kernel panic - not syncing: No working init found.  Try passing init= option"},
    {"init_exec_failed", "[    3.0] Requested init /bin/nope failed (error -2)."},
    {"init_exec_failed", "[    3.0] Failed to execute /init (error -8)"},
    {"kernel_panic", "[   10.5] Kernel panic - not syncing: Fatal exception in interrupt"},
    {"systemd_crashed", "[    5.0] systemd[1]: Caught <SEGV>, dumped core as pid 99."},
    {"systemd_crashed", "[    5.0] systemd[1]: Freezing execution."},
    {"emergency_mode", "You are in emergency mode. After logging in, type \"journalctl -xb\""},
    {"emergency_mode", "[  OK  ] Reached target emergency.target - Emergency Mode."},
    {"emergency_mode", "[  OK  ] Started emergency.service - Emergency Shell."},
    {"rescue_mode", "You are in rescue mode. After logging in, type \"journalctl -xb\""},
    {"rescue_mode", "[  OK  ] Reached target rescue.target - Rescue Mode."},
    {"root_locked", "Cannot open access to console, the root account is locked."},
    {"unit_start_limit",
     "[ 12.0] systemd[1]: vm-agent.service: Start request repeated too quickly."},
    {"unit_restart",
     "[ 12.0] systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at 2."},
    {"unit_exec_locate",
     "[ 39.4] (vm-agent)[168]: vm-agent.service: Failed to locate executable "
     "/opt/vm-agent/vm-agent: No such file or directory"},
    {"unit_exec_step",
     "[ 39.4] (vm-agent)[168]: vm-agent.service: Failed at step EXEC spawning "
     "/opt/vm-agent/vm-agent: No such file or directory"},
    {"unit_env_files",
     "[ 9.1] systemd[1]: vm-agent.service: Failed to load environment files: No such file or "
     "directory"},
    {"unit_spawn_failed",
     "[ 9.1] systemd[1]: vm-agent.service: Failed to spawn 'start' task: No such file or "
     "directory"},
    {"unit_main_exited",
     "[ 39.5] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC"},
    {"unit_control_exited",
     "[ 9.5] systemd[1]: vm-agent.service: Control process exited, code=exited, status=1/FAILURE"},
    {"unit_result", "[ 39.5] systemd[1]: vm-agent.service: Failed with result 'exit-code'."},
    {"unit_oom",
     "[ 20.0] systemd[1]: vm-agent.service: A process of this unit has been killed by the OOM "
     "killer."},
    {"unit_timeout",
     "[ 99.0] systemd[1]: vm-agent.service: start operation timed out. Terminating."},
    {"unit_bad_setting",
     "[ 5.0] systemd[1]: vm-agent.service: Service has no ExecStart=, ExecStop=, or "
     "SuccessAction=. Refusing."},
    {"unit_deactivated", "[ 9.0] systemd[1]: vm-agent.service: Deactivated successfully."},
    {"unit_failed_to_start", "[FAILED] Failed to start vm-agent.service - vmutils example agent."},
    {"unit_failed_to_start",
     "[ 39.6] systemd[1]: Failed to start vm-agent.service - vmutils example agent."},
    {"unit_dependency_failed",
     "[DEPEND] Dependency failed for vm-agent.service - vmutils example agent."},
    {"unit_started", "[  OK  ] Started vm-agent.service - vmutils example agent."},
    {"unit_started", "[ 28.1] systemd[1]: Started vm-agent.service - vmutils example agent."},
    {"unit_starting", "         Starting vm-agent.service - vmutils example agent..."},
    {"unit_starting", "[ 28.0] systemd[1]: Starting vm-agent.service - vmutils example agent..."},
    {"oom_memcg",
     "[ 20.0] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
     "global_oom,task_memcg=/system.slice/vm-agent.service,task=vm-agent,pid=281,uid=0"},
    {"oom_kill",
     "[ 20.0] Out of memory: Killed process 281 (vm-agent) total-vm:1000kB, anon-rss:900kB"},
    {"kernel_up", "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)"},
    {"initramfs", "[    2.646742] Run /init as init process"},
    {"root_mounted", "initrd: switching to /dev/vda (rw), exec /sbin/init"},
    {"root_mounted", "[    3.6] EXT4-fs (vda): mounted filesystem with ordered data mode."},
    {"init_started",
     "[    4.5] systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM +AUDIT)"},
    {"init_started", "Welcome to Debian GNU/Linux 12 (bookworm)!"},
    {"link_up", "[ 28.1] systemd-networkd[158]: eth0: Gained carrier"},
    {"network_configured",
     "[ 28.3] systemd-networkd[158]: eth0: DHCPv4 address 10.84.0.2/24, gateway 10.84.0.1 "
     "acquired from 10.84.0.1"},
    {"network_configured", "[  OK  ] Reached target network-online.target - Network is Online."},
    {"multi_user", "[  OK  ] Reached target multi-user.target - Multi-User System."},
    {"multi_user", "[  OK  ] Reached target Multi-User System."},
    {"boot_finished",
     "[ 28.9] systemd[1]: Startup finished in 4.252s (kernel) + 24.729s (userspace) = 28.981s."},
    {"login_prompt", "vmguest login: "},
    {"kernel_oops", "[ 7.0] BUG: kernel NULL pointer dereference, address: 0000000000000000"},
    {"fs_error", "[ 7.0] EXT4-fs error (device vda): ext4_lookup:1855: inode #2: comm x"},
    {"device_timeout", "[ TIME ] Timed out waiting for device dev-vdb.device - /dev/vdb."},
    {"dhcp_no_offers", "No DHCPOFFERS received."},
    {"tsc_unstable", "[ 0.5] tsc: Marking TSC unstable due to could not calculate TSC khz"},
    {"start_job_running", "[**    ] Job systemd-networkd.service/start running (17s / 1min 42s)"},
    {"start_job_running",
     "[ ***  ] A start job is running for Wait for Network to be Configured (15s / 2min)"},
};

std::set<std::string> ids(const std::vector<Match>& ms) {
  std::set<std::string> out;
  for (const auto& m : ms) out.insert(std::string(m.pattern->def.id));
  return out;
}

}  // namespace

TEST_CASE("catalog: every entry has a sample and matches it") {
  Catalog cat;
  std::set<std::string> sampled;
  for (const auto& [id, _] : kSamples) sampled.insert(id);
  for (const auto& d : builtin_patterns()) {
    INFO("catalog id " << d.id);
    CHECK(sampled.count(std::string(d.id)) == 1);
    CHECK(!d.words.empty());
  }
  for (const auto& [id, line] : kSamples) {
    INFO(id << ": " << line);
    CHECK(ids(cat.match(line)).count(id) == 1);
  }
}

TEST_CASE("catalog: ids are unique, needles occur in their samples") {
  std::set<std::string_view> seen;
  for (const auto& d : builtin_patterns()) CHECK(seen.insert(d.id).second);
  for (const auto& [id, line] : kSamples)
    for (const auto& d : builtin_patterns())
      if (d.id == id && !d.needle.empty()) CHECK(line.find(d.needle) != std::string::npos);
}

TEST_CASE("catalog: one failure per line, the most specific first") {
  Catalog cat;
  auto ms = cat.match("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100");
  int failures = 0;
  for (const auto& m : ms)
    if (m.pattern->def.kind == Kind::failure) {
      ++failures;
      CHECK(m.pattern->def.id == std::string_view("kill_init"));
      CHECK(m.pattern->def.name == std::string_view("no_init"));
    }
  CHECK(failures == 1);
  auto vfs =
      cat.match("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)");
  CHECK(ids(vfs).count("vfs_no_root") == 1);
  CHECK(ids(vfs).count("kernel_panic") == 0);
}

TEST_CASE("catalog: ordinary boot lines are not failures") {
  Catalog cat;
  for (const char* line : {
           "[    4.488789] systemd[1]: Failed to find module 'autofs4'",
           "[    1.47] clocksource: timekeeping watchdog on CPU0: Marking clocksource 'tsc-early' "
           "as unstable because the skew is too large:",
           "[ 16.0] (modprobe)[130]: modprobe@configfs.service: Executable /sbin/modprobe missing, "
           "skipping: No such file or directory",
           "[    0.6] PCI: Fatal: No config space access function found",
           "[   22.5] systemd[1]: systemd-logind.service - User Login Management was skipped "
           "because "
           "no trigger condition checks were met.",
       }) {
    INFO(line);
    for (const auto& m : cat.match(line)) CHECK(m.pattern->def.kind != Kind::failure);
  }
}

TEST_CASE("catalog: captures fill the words") {
  Catalog cat;
  auto ms = cat.match(
      "[ 39.5] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC");
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].groups[1] == "vm-agent.service");
  CHECK(ms[0].groups[2] == "exited");
  CHECK(ms[0].groups[3] == "203");
  CHECK(ms[0].groups[4] == "EXEC");
  CHECK(ms[0].words() == "vm-agent.service: the main process exited with status 203/EXEC");
  auto p = cat.match("Kernel panic - not syncing: Fatal exception");
  CHECK(p[0].words() == "the guest kernel panicked: Fatal exception");
}

TEST_CASE(
    "catalog: --fail-on comes first, --ready-on is a milestone; bad regexes are usage errors") {
  Catalog cat;
  cat.add_fail_on("FATAL ERROR: (.*)");
  cat.add_ready_on(R"(agent: READY)");
  auto f = cat.match("app[1]: FATAL ERROR: disk full");
  REQUIRE(!f.empty());
  CHECK(f[0].pattern->def.name == std::string_view("fail_on"));
  auto r = cat.match("vm-agent[3]: agent: READY on 8080");
  REQUIRE(r.size() == 1);
  CHECK(r[0].pattern->def.name == std::string_view("ready_on"));
  CHECK_THROWS_AS(cat.add_fail_on("(unclosed"), vmu::Error);
  try {
    cat.add_ready_on("[z-a]");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::usage);
    CHECK(std::string(e.what()).find("--ready-on") != std::string::npos);
  }
}

TEST_CASE("exit statuses in words (systemd.exec(5))") {
  CHECK(exit_status_words(203).value().rfind("EXEC: the program could not be executed", 0) == 0);
  CHECK(exit_status_words(217).value().rfind("USER:", 0) == 0);
  CHECK(exit_status_words(200).value().rfind("CHDIR:", 0) == 0);
  CHECK(exit_status_words(226).value().rfind("NAMESPACE:", 0) == 0);
  CHECK(exit_status_words(209).value().rfind("STDOUT:", 0) == 0);
  CHECK(exit_status_words(214).value().rfind("SETSCHEDULER:", 0) == 0);
  CHECK(exit_status_words(218).value().rfind("CAPABILITIES:", 0) == 0);
  CHECK(exit_status_words(243).value().rfind("CREDENTIALS:", 0) == 0);
  CHECK(exit_status_words(245).value().rfind("BPF:", 0) == 0);
  CHECK(exit_status_words(78).value().rfind("CONFIG:", 0) == 0);
  CHECK(exit_status_words(1).value().rfind("FAILURE:", 0) == 0);
  CHECK_FALSE(exit_status_words(223));  // reserved
  CHECK_FALSE(exit_status_words(42));
  // Every documented systemd code 200..245 but the reserved 223, 234, 244.
  for (int c = 200; c <= 245; ++c)
    if (c != 223 && c != 234 && c != 244) CHECK(exit_status_words(c).has_value());
  CHECK(describe_exit("exited", 203, "EXEC").rfind("exit status 203/EXEC: the program", 0) == 0);
  CHECK(describe_exit("exited", 42, "42") == "exit status 42/42");
  CHECK(describe_exit("killed", 9, "KILL").rfind("killed by signal 9/KILL", 0) == 0);
  CHECK(describe_exit("dumped", 11, "SEGV").rfind("dumped core on signal 11/SEGV", 0) == 0);
}
