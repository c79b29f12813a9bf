#include "diagnose/catalog.hpp"

#include <array>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu::diagnose {

namespace {

// A unit name as systemd prints it (no ':' — rare in names, common around them).
#define VMU_UNIT \
  R"(([A-Za-z0-9_.\\@-]+\.(?:service|socket|target|mount|path|timer|swap|scope|slice|automount|device)))"

using K = Kind;
using E = UnitEvent;

// The catalog. Order matters twice: the first failure in table order wins
// for a line ("Kernel panic - not syncing: Attempted to kill init!" is
// no_init, not kernel_panic), and specific entries come before catch-alls.
constexpr std::array kPatterns = {
    // --- boot failures: a verdict at once -----------------------------------
    PatternDef{"initrd_no_init", K::failure, "no_init", E::none,
               "initrd: FATAL:", R"(initrd: FATAL: (\S+) not found on (\S+))",
               "the initramfs found no init program: {1} is not on {2}"},
    PatternDef{"initrd_no_root_device", K::failure, "no_root_fs", E::none,
               "initrd: FATAL:", R"(initrd: FATAL: root device (\S+) did not appear.*)",
               "the root device {1} never appeared (no disk, or its driver did not load): {0}"},
    PatternDef{"initrd_mount_failed", K::failure, "no_root_fs", E::none,
               "initrd: FATAL:", R"(initrd: FATAL: cannot mount (/dev/\S+).*)",
               "the root filesystem on {1} could not be mounted: {0}"},
    PatternDef{"initrd_no_root_arg", K::failure, "no_root_fs", E::none,
               "initrd: FATAL:", R"(initrd: FATAL: no root= on the kernel command line)",
               "the kernel command line names no root device (root=)"},
    PatternDef{"initrd_fatal", K::failure, "initrd_failed", E::none,
               "initrd: FATAL:", R"(initrd: FATAL: (.*))", "the initramfs gave up: {1}"},
    PatternDef{"vfs_no_root", K::failure, "no_root_fs", E::none,
               "VFS: ", R"(VFS: (?:Unable to mount root fs|Cannot open root device).*)",
               "the kernel could not mount the root filesystem: {0}"},
    PatternDef{"initramfs_gave_up", K::failure, "no_root_fs", E::none, "Gave up waiting for root",
               R"(Gave up waiting for root (?:file system )?device.*)",
               "the initramfs gave up waiting for the root device: {0}"},
    PatternDef{"initramfs_alert", K::failure, "no_root_fs", E::none, "ALERT!",
               R"(ALERT! +(\S+) does not exist)",
               "the root device {1} does not exist (initramfs dropped to a shell)"},
    PatternDef{"kill_init", K::failure, "no_init", E::none, "Attempted to kill init",
               R"(Attempted to kill init!(?: exitcode=(0x[0-9a-fA-F]+))?)",
               "init (PID 1) exited, which the kernel cannot survive: {0}"},
    PatternDef{"no_working_init", K::failure, "no_init", E::none, "No working init found",
               R"(No working init found.*)", "the kernel found no working init program: {0}"},
    PatternDef{
        "init_exec_failed", K::failure, "no_init", E::none, "init",
        R"((?:Requested init (\S+) failed|Failed to execute (\S+) \(error|Starting init: (\S+) exists but couldn't execute it).*)",
        "the init program could not be executed: {0}"},
    PatternDef{"kernel_panic", K::failure, "kernel_panic", E::none, "Kernel panic",
               R"(Kernel panic - not syncing: ?(.*))", "the guest kernel panicked: {1}"},
    PatternDef{"systemd_crashed", K::failure, "init_crashed", E::none,
               "systemd[1]: ", R"(systemd\[1\]: (?:Caught <(\w+)>|Freezing execution).*)",
               "systemd (PID 1) crashed: {0}"},
    PatternDef{
        "emergency_mode", K::failure, "emergency_mode", E::none, "mergency",
        R"((?:You are in emergency mode|Reached target (?:emergency\.target - )?Emergency Mode|Entering emergency mode|Started (?:emergency\.service - )?Emergency Shell).*)",
        "systemd entered emergency mode; the boot stopped before the agent: {0}"},
    PatternDef{
        "rescue_mode", K::failure, "emergency_mode", E::none, "escue",
        R"((?:You are in rescue mode|Reached target (?:rescue\.target - )?Rescue Mode|Started (?:rescue\.service - )?Rescue Shell).*)",
        "systemd entered rescue mode; the boot stopped before the agent: {0}"},
    PatternDef{"root_locked", K::failure, "emergency_mode", E::none, "root account is locked",
               R"(Cannot open access to console, the root account is locked.*)",
               "systemd entered emergency mode (the console is locked): {0}"},

    // --- what systemd says about units (the agent's or another's) ----------
    PatternDef{"unit_start_limit", K::unit, "", E::start_limit, "repeated too quickly",
               VMU_UNIT R"(: Start request repeated too quickly)",
               "{1} failed too often in a row and systemd stopped restarting it"},
    PatternDef{"unit_restart", K::unit, "", E::restart_scheduled, "Scheduled restart job",
               VMU_UNIT R"(: Scheduled restart job, restart counter is at (\d+))",
               "{1} failed and is restarted (restart {2})"},
    PatternDef{"unit_exec_locate", K::unit, "", E::exec_locate, "Failed to locate executable",
               VMU_UNIT R"(: Failed to locate executable (\S+): (.*))",
               "{1}: the program {2} is missing: {3}"},
    PatternDef{"unit_exec_step", K::unit, "", E::exec_step, "Failed at step",
               VMU_UNIT R"(: Failed at step (\S+) spawning (\S+): (.*))",
               "{1}: starting {3} failed at step {2}: {4}"},
    PatternDef{"unit_env_files", K::unit, "", E::env_files, "Failed to load environment files",
               VMU_UNIT R"(: Failed to load environment files: (.*))",
               "{1}: an EnvironmentFile= could not be read: {2}"},
    PatternDef{"unit_spawn_failed", K::unit, "", E::spawn_failed, "Failed to spawn",
               VMU_UNIT R"(: Failed to spawn '(\w+)' task: (.*))",
               "{1}: systemd could not spawn the '{2}' task: {3}"},
    PatternDef{"unit_main_exited", K::unit, "", E::main_exited, "Main process exited",
               VMU_UNIT R"(: Main process exited, code=(\w+), status=(\d+)/(\w+))",
               "{1}: the main process {2} with status {3}/{4}"},
    PatternDef{"unit_control_exited", K::unit, "", E::control_exited, "Control process exited",
               VMU_UNIT R"(: Control process exited, code=(\w+), status=(\d+)/(\w+))",
               "{1}: a control process (ExecStartPre= or similar) {2} with status {3}/{4}"},
    PatternDef{"unit_result", K::unit, "", E::result, "Failed with result",
               VMU_UNIT R"(: Failed with result '([\w-]+)')", "{1} failed (result '{2}')"},
    PatternDef{"unit_oom", K::unit, "", E::oom_killed, "killed by the OOM killer",
               VMU_UNIT R"(: A process of this unit has been killed by the OOM killer)",
               "{1}: a process of the unit was killed by the out-of-memory killer"},
    PatternDef{"unit_timeout", K::unit, "", E::timed_out, "operation timed out",
               VMU_UNIT R"(: (start|start-pre|start-post) operation timed out)",
               "{1}: the {2} operation timed out"},
    PatternDef{"unit_bad_setting", K::unit, "", E::bad_setting, "Refusing",
               VMU_UNIT R"(: (Service has no ExecStart=.*|.*Refusing\.?)$)",
               "{1}: the unit file is invalid: {2}"},
    PatternDef{"unit_deactivated", K::unit, "", E::deactivated, "Deactivated successfully",
               VMU_UNIT R"(: Deactivated successfully)",
               "{1}: the main process ended (status 0) and the unit stopped"},
    PatternDef{"unit_failed_to_start", K::unit, "", E::failed_to_start, "Failed to start ",
               R"(Failed to start (.+?)\.?$)", "systemd failed to start {1}"},
    PatternDef{"unit_dependency_failed", K::unit, "", E::dependency_failed, "Dependency failed",
               R"(Dependency failed for (.+?)\.?$)",
               "{1} was not started: a unit it requires failed"},
    PatternDef{"unit_started", K::unit, "", E::started, "Started ",
               R"((?:systemd\[1\]: |\]\s*)Started (.+?)\.?$)", "{1} started"},
    PatternDef{"unit_starting", K::unit, "", E::starting, "Starting ",
               R"((?:systemd\[1\]: |^\s*)Starting (.+?)(?:\.\.\.|…)$)", "{1} is starting"},
    PatternDef{"oom_memcg", K::unit, "", E::memcg_oom,
               "oom-kill:", R"(oom-kill:.*task_memcg=[^,]*/([^/,]+\.service),task=([^,]+))",
               "the out-of-memory killer killed {2} of {1}"},
    PatternDef{"oom_kill", K::unit, "", E::kernel_oom, "Out of memory",
               R"(Out of memory: Kill(?:ed)? process (\d+) \((.+?)\))",
               "the out-of-memory killer killed process {1} ({2})"},

    // --- milestones of a healthy boot ---------------------------------------
    PatternDef{"kernel_up", K::milestone, "kernel_up", E::none, "Linux version",
               R"(Linux version (\S+))", "the guest kernel {1} is up"},
    PatternDef{"initramfs", K::milestone, "initramfs", E::none, "Run /init as init process",
               R"(Run /init as init process)", "the initramfs runs"},
    PatternDef{
        "root_mounted", K::milestone, "root_mounted", E::none, "",
        R"((?:initrd: switching to (\S+)|EXT4-fs \((\w+)\): mounted filesystem|VFS: Mounted root|systemd\[1\]: Switching root))",
        "the root filesystem is mounted"},
    PatternDef{
        "init_started", K::milestone, "init_started", E::none, "",
        R"((?:systemd (\d+)\S* running in system mode|Welcome to .+!|Run /sbin/init as init process))",
        "init (systemd) runs"},
    PatternDef{"link_up", K::milestone, "link_up", E::none, "Gained carrier",
               R"(: (e[a-z0-9]+): Gained carrier)", "{1} has a link"},
    PatternDef{
        "network_configured", K::milestone, "network_configured", E::none, "",
        R"((?:(\w+): DHCPv4 address (\d+\.\d+\.\d+\.\d+)|bound to (\d+\.\d+\.\d+\.\d+) -- renewal|Reached target (?:network-online\.target - )?Network is Online))",
        "the network is configured: {0}"},
    PatternDef{"multi_user", K::milestone, "multi_user", E::none, "Multi-User System",
               R"(Reached target (?:multi-user\.target - )?Multi-User System)",
               "multi-user.target is reached"},
    PatternDef{"boot_finished", K::milestone, "boot_finished", E::none, "Startup finished in",
               R"(Startup finished in (.*)\.)", "the boot finished ({1})"},
    PatternDef{"login_prompt", K::milestone, "login_prompt", E::none, " login:", R"((\S+) login:)",
               "the login prompt is up"},

    // --- warnings: shown, kept as evidence, never a verdict alone ----------
    PatternDef{"kernel_oops", K::warning, "kernel_oops", E::none, "",
               R"((?:BUG: (.*)|Oops: (.*)|WARNING: CPU: \d+ PID: .*))",
               "the kernel reported a bug: {0}"},
    PatternDef{"fs_error", K::warning, "fs_error", E::none, "-fs ",
               R"((?:EXT4-fs error .*|EXT4-fs .*Remounting filesystem read-only.*))",
               "the filesystem reported an error: {0}"},
    PatternDef{"device_timeout", K::warning, "device_timeout", E::none,
               "Timed out waiting for device", R"(Timed out waiting for device (.+?)\.?$)",
               "a device never appeared: {1}"},
    PatternDef{"dhcp_no_offers", K::warning, "dhcp_failed", E::none, "DHCP",
               R"((?:No DHCPOFFERS received|DHCP(?:v4)? client: .*(?:fail|timed out).*))",
               "DHCP got no answer: {0}"},
    PatternDef{"tsc_unstable", K::warning, "tsc_unstable", E::none, "could not calculate TSC khz",
               R"(Marking TSC unstable due to could not calculate TSC khz)",
               "the kernel could not calibrate its clock; under TCG this precedes a hang "
               "(tsc_early_khz= avoids it)"},

    // --- progress -----------------------------------------------------------
    PatternDef{
        "start_job_running", K::info, "waiting", E::none, "running",
        R"((?:A start job is running for (.+?)|Job (\S+)/start running) \(([^/()]+?) / ([^()]+)\))",
        "waiting for {1}{2} ({3} so far)"},
};

#undef VMU_UNIT

std::regex compile(std::string_view re, std::string_view what) {
  try {
    return std::regex(std::string(re), std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    throw Error(Exit::usage, "bad_regex",
                fmt::format("{}: '{}' is not a valid regular expression (ECMAScript): {}", what, re,
                            e.what()));
  }
}

}  // namespace

std::string_view kind_word(Kind k) {
  switch (k) {
    case Kind::failure:
      return "failure";
    case Kind::milestone:
      return "milestone";
    case Kind::unit:
      return "unit";
    case Kind::warning:
      return "warning";
    case Kind::info:
      return "info";
  }
  return "?";
}

std::span<const PatternDef> builtin_patterns() {
  return kPatterns;
}

Catalog::Catalog() {
  patterns_.reserve(kPatterns.size() + 4);
  for (const auto& d : kPatterns) patterns_.push_back({d, compile(d.regex, d.id), false, {}});
}

void Catalog::add_fail_on(const std::string& regex) {
  Pattern p{PatternDef{"fail_on", Kind::failure, "fail_on", UnitEvent::none, "", "",
                       "the console matched --fail-on: {0}"},
            compile(regex, "--fail-on"), true, regex};
  // User failures are checked before the built-ins: the operator knows best.
  patterns_.insert(patterns_.begin(), std::move(p));
}

void Catalog::add_ready_on(const std::string& regex) {
  patterns_.push_back({PatternDef{"ready_on", Kind::milestone, "ready_on", UnitEvent::none, "", "",
                                  "the console matched --ready-on: {0}"},
                       compile(regex, "--ready-on"), true, regex});
}

std::vector<Match> Catalog::match(std::string_view line) const {
  std::vector<Match> out;
  bool failure_seen = false;
  std::cmatch m;
  for (const auto& p : patterns_) {
    if (p.def.kind == Kind::failure && failure_seen) continue;
    if (!p.def.needle.empty() && line.find(p.def.needle) == std::string_view::npos) continue;
    if (!std::regex_search(line.data(), line.data() + line.size(), m, p.re)) continue;
    Match mt;
    mt.pattern = &p;
    for (std::size_t i = 0; i < m.size(); ++i) mt.groups.push_back(m[i].matched ? m[i].str() : "");
    if (p.def.kind == Kind::failure) failure_seen = true;
    out.push_back(std::move(mt));
  }
  return out;
}

std::string Match::words() const {
  std::string out;
  const std::string_view w = pattern->def.words;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '{' && i + 2 < w.size() && w[i + 1] >= '0' && w[i + 1] <= '9' && w[i + 2] == '}') {
      const std::size_t g = static_cast<std::size_t>(w[i + 1] - '0');
      if (g < groups.size()) out += groups[g];
      i += 2;
    } else {
      out.push_back(w[i]);
    }
  }
  return out;
}

std::optional<std::string> exit_status_words(int status) {
  struct Row {
    int code;
    std::string_view name;
    std::string_view words;
  };
  // systemd.exec(5), "Process Exit Codes" (systemd 252), in words an
  // operator can act on.
  static constexpr Row kRows[] = {
      {0, "SUCCESS", "success"},
      {1, "FAILURE", "generic failure: the program reported an error, see its own output"},
      {2, "INVALIDARGUMENT", "invalid or excess arguments"},
      {3, "NOTIMPLEMENTED", "unimplemented feature"},
      {4, "NOPERMISSION", "the user has insufficient privileges"},
      {5, "NOTINSTALLED", "the program is not installed"},
      {6, "NOTCONFIGURED", "the program is not configured"},
      {7, "NOTRUNNING", "the program is not running"},
      {64, "USAGE", "command line usage error"},
      {65, "DATAERR", "data format error"},
      {66, "NOINPUT", "cannot open input"},
      {67, "NOUSER", "addressee unknown"},
      {68, "NOHOST", "host name unknown"},
      {69, "UNAVAILABLE", "service unavailable"},
      {70, "SOFTWARE", "internal software error"},
      {71, "OSERR", "operating system error, e.g. cannot fork"},
      {72, "OSFILE", "critical OS file missing"},
      {73, "CANTCREAT", "cannot create (user) output file"},
      {74, "IOERR", "input/output error"},
      {75, "TEMPFAIL", "temporary failure; the user is invited to retry"},
      {76, "PROTOCOL", "remote error in protocol"},
      {77, "NOPERM", "permission denied"},
      {78, "CONFIG", "configuration error"},
      {200, "CHDIR", "changing to the WorkingDirectory= failed: a missing folder?"},
      {201, "NICE", "setting the scheduling priority (Nice=) failed"},
      {202, "FDS", "closing or passing file descriptors failed"},
      {203, "EXEC",
       "the program could not be executed: a missing or non-executable file, or a missing "
       "interpreter"},
      {204, "MEMORY", "out of memory while starting the process"},
      {205, "LIMITS", "setting resource limits (LimitCPU= and friends) failed"},
      {206, "OOM_ADJUST", "setting OOMScoreAdjust= failed"},
      {207, "SIGNAL_MASK", "setting the signal mask failed"},
      {208, "STDIN", "setting up standard input (StandardInput=) failed"},
      {209, "STDOUT", "setting up standard output (StandardOutput=) failed"},
      {210, "CHROOT", "changing the root directory (RootDirectory=/RootImage=) failed"},
      {211, "IOPRIO", "setting the IO scheduling class or priority failed"},
      {212, "TIMERSLACK", "setting the timer slack (TimerSlackNSec=) failed"},
      {213, "SECUREBITS", "setting the process secure bits (SecureBits=) failed"},
      {214, "SETSCHEDULER", "setting the CPU scheduling policy or priority failed"},
      {215, "CPUAFFINITY", "setting the CPU affinity failed"},
      {216, "GROUP", "the Group= or SupplementaryGroups= could not be found or set"},
      {217, "USER", "the User= could not be found or set, or user namespacing failed"},
      {218, "CAPABILITIES", "dropping or applying capabilities failed"},
      {219, "CGROUP", "setting up the service's control group failed"},
      {220, "SETSID", "creating a new session failed"},
      {221, "CONFIRM", "execution was cancelled by the user: systemd.confirm_spawn"},
      {222, "STDERR", "setting up standard error (StandardError=) failed"},
      {224, "PAM", "setting up the PAM session (PAMName=) failed"},
      {225, "NETWORK", "setting up network namespacing (PrivateNetwork=) failed"},
      {226, "NAMESPACE",
       "setting up mount, UTS or IPC namespacing failed: a path in ReadOnlyPaths= or a "
       "similar setting may be missing"},
      {227, "NO_NEW_PRIVILEGES", "disabling new privileges (NoNewPrivileges=) failed"},
      {228, "SECCOMP", "applying the system call filter (SystemCallFilter=) failed"},
      {229, "SELINUX_CONTEXT", "determining or changing the SELinux context failed"},
      {230, "PERSONALITY", "setting the execution domain (Personality=) failed"},
      {231, "APPARMOR", "preparing the AppArmor profile (AppArmorProfile=) failed"},
      {232, "ADDRESS_FAMILIES", "restricting address families (RestrictAddressFamilies=) failed"},
      {233, "RUNTIME_DIRECTORY", "setting up the RuntimeDirectory= failed"},
      {235, "CHOWN", "adjusting socket ownership failed"},
      {236, "SMACK_PROCESS_LABEL", "setting the SMACK label failed"},
      {237, "KEYRING", "setting up the kernel keyring failed"},
      {238, "STATE_DIRECTORY", "setting up the StateDirectory= failed"},
      {239, "CACHE_DIRECTORY", "setting up the CacheDirectory= failed"},
      {240, "LOGS_DIRECTORY", "setting up the LogsDirectory= failed"},
      {241, "CONFIGURATION_DIRECTORY", "setting up the ConfigurationDirectory= failed"},
      {242, "NUMA_POLICY", "setting the NUMA memory policy failed"},
      {243, "CREDENTIALS",
       "setting up the unit's credentials (LoadCredential=, SetCredential=) failed"},
      {245, "BPF", "applying BPF restrictions (RestrictFileSystems=) failed"},
  };
  for (const auto& r : kRows)
    if (r.code == status) return fmt::format("{}: {}", r.name, r.words);
  return std::nullopt;
}

std::string describe_exit(std::string_view code, int status, std::string_view name) {
  if (code == "killed" || code == "dumped") {
    const char* desc = status > 0 && status < NSIG ? ::strsignal(status) : nullptr;
    return fmt::format("{} signal {}/{}{}", code == "dumped" ? "dumped core on" : "killed by",
                       status, name, desc ? fmt::format(": {}", desc) : std::string());
  }
  if (auto w = exit_status_words(status)) return fmt::format("exit status {}/{}", status, *w);
  return fmt::format("exit status {}/{}", status, name);
}

}  // namespace vmu::diagnose
