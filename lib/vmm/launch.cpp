#include "vmm/launch.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>

#include "image/lock.hpp"
#include "proc/spawn.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"
#include "vmm/qemu.hpp"

namespace vmu::vmm {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

Json Plan::dry_run_json() const {
  Json j = {{"id", spec.id},
            {"backend", to_string(backend)},
            {"accel", to_string(accel)},
            {"argv", argv},
            {"console_log", console_log.string()},
            {"log", vmm_log.string()},
            {"control_socket", control_socket.string()},
            {"boot_args", spec.boot_args}};
  if (backend == Backend::firecracker) {
    Json reqs = Json::array();
    for (const auto& r : requests) {
      Json one = {{"method", r.method}, {"path", r.path}};
      if (!r.body.is_null()) one["body"] = r.body;
      reqs.push_back(std::move(one));
    }
    j["requests"] = std::move(reqs);
  }
  return j;
}

Json VmmInfo::to_json() const {
  return Json{{"backend", to_string(backend)},
              {"accel", to_string(accel)},
              {"pid", pid},
              {"start_time", start_time},
              {"console_log", console_log.string()},
              {"log", log.string()},
              {"control_socket", control_socket.string()},
              {"kernel", kernel.string()},
              {"initrd", initrd ? Json(initrd->string()) : Json(nullptr)},
              {"boot_args", boot_args},
              {"vcpus", vcpus},
              {"mem_mib", mem_mib}};
}

Plan make_plan(const Record& rec, const LaunchRequest& req, const State& state,
               std::optional<std::uint64_t> host_tsc) {
  Plan p;
  p.backend = req.backend;
  fill_from_record(p.spec, rec);
  if (req.kernel.empty())
    throw Error(Exit::usage, "no_kernel",
                "no kernel: give --kernel FILE (or set VMUTILS_KERNEL), e.g. the guest kit's "
                "vmlinux");
  p.spec.kernel = fs::absolute(req.kernel);
  if (req.initrd && !req.initrd->empty()) p.spec.initrd = fs::absolute(*req.initrd);
  // The record names the disk; only this VM's own file is booted (a golden
  // or another VM's disk read-write would be corrupted).
  p.spec.rootfs = state.trusted_record_file(rec, "rootfs.path", p.spec.rootfs);
  check_clone_durable(rec, boot_id());
  if (req.vcpus < 1 || req.vcpus > 32)
    throw Error(Exit::usage, fmt::format("--vcpus {}: expected 1 to 32", req.vcpus));
  if (req.mem_mib < 16)
    throw Error(Exit::usage, fmt::format("--mem-mib {}: expected at least 16", req.mem_mib));
  p.spec.vcpus = req.vcpus;
  p.spec.mem_mib = req.mem_mib;

  if (p.backend == Backend::firecracker) {
    if (req.accel == AccelChoice::tcg)
      throw Error(Exit::usage, "--accel tcg: Firecracker runs on KVM only; use --vmm qemu for TCG");
    p.accel = Accel::kvm;
  } else {
    p.accel = choose_accel(req.accel);
  }

  if (req.boot_args) {
    p.spec.boot_args = *req.boot_args;
  } else {
    BootArgOptions o;
    o.backend = p.backend;
    o.accel = p.accel;
    o.net = req.net;
    o.journal_console = req.journal_console;
    o.journal_level = req.journal_level;
    if (p.backend == Backend::qemu && p.accel == Accel::tcg)
      o.tsc_khz = host_tsc ? host_tsc : host_tsc_khz();
    p.spec.boot_args = default_boot_args(o, p.spec.nic);
  }
  if (!req.append_boot_args.empty()) {
    if (!p.spec.boot_args.empty()) p.spec.boot_args += ' ';
    p.spec.boot_args += req.append_boot_args;
  }

  const std::string& id = p.spec.id;
  p.console_log = fs::absolute(state.console_log(id));
  p.vmm_log = fs::absolute(state.vmm_log(id));
  p.run_dir = fs::absolute(state.run_dir(id));
  p.control_socket = p.run_dir / (p.backend == Backend::firecracker ? "api.sock" : "qmp.sock");
  if (p.control_socket.native().size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error(Exit::usage, "socket_path_too_long",
                fmt::format("the control socket path '{}' is longer than a Unix socket allows "
                            "(107 bytes): set VMUTILS_RUN_DIR to a shorter folder",
                            p.control_socket.string()));

  if (p.backend == Backend::firecracker) {
    p.argv = firecracker_argv(req.vmm_binary, p.control_socket, id, p.vmm_log);
    p.requests = firecracker_requests(p.spec, p.console_log, true);
  } else {
    QemuOptions q;
    q.binary = req.vmm_binary;
    q.accel = p.accel;
    q.console_log = p.console_log;
    q.qmp_socket = p.control_socket;
    p.argv = qemu_argv(p.spec, q);
  }
  return p;
}

void check_clone_durable(const Record& rec, const std::string& current_boot) {
  const Json& r = rec.get("rootfs");
  auto synced = r.find("synced");
  auto boot = r.find("boot_id");
  if (synced == r.end() || !synced->is_boolean() || synced->get<bool>()) return;
  if (boot == r.end() || !boot->is_string() || current_boot.empty()) return;
  if (boot->get<std::string>() == current_boot) return;
  throw Error(Exit::usage, "unsynced_clone",
              fmt::format("the clone '{}' was made without --sync in an earlier boot of this host "
                          "(boot id {}, now {}): a crash may have lost part of it; make it again "
                          "with 'rootfs-clone --id {} --force' (add --sync for clones that must "
                          "outlive a host crash)",
                          r.value("path", std::string("?")), boot->get<std::string>(), current_boot,
                          rec.id()));
}

namespace {

void check_file(const fs::path& p, const char* what, const std::string& hint) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0)
    throw Error(Exit::usage, fmt::format("missing_{}", what),
                fmt::format("{} '{}': {}{}", what, p.string(), std::strerror(errno), hint));
  if (!S_ISREG(st.st_mode))
    throw Error(Exit::usage, fmt::format("missing_{}", what),
                fmt::format("{} '{}' is not a regular file", what, p.string()));
  if (::access(p.c_str(), R_OK) != 0)
    throw Error(Exit::usage, fmt::format("missing_{}", what),
                fmt::format("{} '{}' is not readable: {}", what, p.string(), std::strerror(errno)));
}

}  // namespace

void check_inputs(const Plan& plan, bool check_tap) {
  check_file(plan.spec.kernel, "kernel", " (give --kernel, e.g. the guest kit's vmlinux)");
  if (plan.spec.initrd) check_file(*plan.spec.initrd, "initrd", "");
  // The record names a clone, so rootfs-clone ran: the file was removed since.
  check_file(plan.spec.rootfs, "rootfs",
             fmt::format(" (the record's rootfs.path: the clone is gone; make it again with "
                         "'rootfs-clone --id {}')",
                         plan.spec.id));
  if (image_in_use(plan.spec.rootfs))
    throw Error(Exit::usage, "image_in_use",
                fmt::format("rootfs '{}' is in use (its lock is held, e.g. by a running VM or "
                            "an agent-inject): stop that first",
                            plan.spec.rootfs.string()));
  if (plan.spec.nic && check_tap) {
    const auto& tap = plan.spec.nic->tap;
    if (tap.size() >= IFNAMSIZ || ::if_nametoindex(tap.c_str()) == 0)
      throw Error(Exit::usage, "tap_missing",
                  fmt::format("TAP '{}' (the record's net.tap) does not exist in this network "
                              "namespace: run fc-launch in the TAP's namespace (ip netns exec); "
                              "if the TAP was deleted (vmnet-alloc release, a host reboot), "
                              "allocate a new VM with vmnet-alloc",
                              tap));
    struct stat st {};
    if (::stat(fmt::format("/sys/class/net/{}/tun_flags", tap).c_str(), &st) != 0)
      throw Error(
          Exit::usage, "not_a_tap",
          fmt::format("network device '{}' (the record's net.tap) is not a TAP device", tap));
  }
}

std::string log_tail(const fs::path& log, std::size_t max_lines) {
  Fd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return {};
  const off_t want = 2048;
  const off_t from = st.st_size > want ? st.st_size - want : 0;
  std::string buf(static_cast<std::size_t>(st.st_size - from), '\0');
  const ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), from);
  if (n <= 0) return {};
  buf.resize(static_cast<std::size_t>(n));
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < buf.size()) {
    auto nl = buf.find('\n', start);
    std::string line = buf.substr(start, nl == std::string::npos ? nl : nl - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (from > 0 && !lines.empty()) lines.erase(lines.begin());  // probably cut
  std::string out;
  const std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

namespace {

// Keeps one previous generation of a log (a relaunch of the same VM).
void keep_previous(const fs::path& log) {
  struct stat st {};
  if (::stat(log.c_str(), &st) == 0 && st.st_size > 0) {
    fs::path old = log;
    old += ".1";
    if (::rename(log.c_str(), old.c_str()) != 0)
      throw sys_error(fmt::format("keeping the previous '{}'", log.string()), errno);
  }
}

Fd open_log(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) throw sys_error(fmt::format("opening '{}'", p.string()), errno);
  return fd;
}

std::string what_vmm(Backend b) {
  return b == Backend::firecracker ? "firecracker" : "qemu";
}

[[noreturn]] void fail_after_start(const Plan& plan, const Spawned& child, const Error& why) {
  auto st = stop_process(child.pid, child.start_time, milliseconds(2000));
  (void)st;
  const std::string logs = fmt::format("; the VMM was stopped; logs kept: {} and {}",
                                       plan.console_log.string(), plan.vmm_log.string());
  throw Error(why.code(), why.reason(), std::string(why.what()) + logs);
}

std::string exit_message(const Plan& plan, const std::optional<ExitStatus>& st, const char* when) {
  std::string tail = log_tail(plan.vmm_log);
  return fmt::format(
      "{} {} {}{}", what_vmm(plan.backend), st ? st->describe() : std::string("exited"), when,
      tail.empty() ? fmt::format("; its log '{}' is empty", plan.vmm_log.string())
                   : fmt::format("; its log '{}' ends: {}", plan.vmm_log.string(), tail));
}

void configure_firecracker(const Plan& plan, const Spawned& child, const LaunchRequest& req,
                           Clock::time_point deadline) {
  ApiClient api(plan.control_socket, std::max(req.start_timeout, milliseconds(10000)));
  // The socket file exists from bind(); listen() follows at once. Retry a
  // refused connection (bounded by the deadline) and learn the version.
  ApiResponse version;
  for (;;) {
    try {
      version = api.send({"GET", "/version", nullptr});
      break;
    } catch (const Error& e) {
      if (auto st = try_reap(child.pid))
        throw Error(Exit::failed, "vmm_exited",
                    exit_message(plan, st, "while its API was being configured"));
      if (Clock::now() >= deadline) throw;
      if (req.stop && req.stop()) throw Error(Exit::interrupted, "interrupted");
      ::usleep(2000);
    }
  }
  bool serial_api = false;
  if (version.status == 200) {
    try {
      auto j = Json::parse(version.body);
      serial_api = version_has_serial_api(j.value("firecracker_version", std::string()));
    } catch (const Json::exception&) {
    }
  }
  for (const auto& r : plan.requests) {
    if (r.path == "/serial" && !serial_api) continue;  // stdout is the console then
    if (req.stop && req.stop()) throw Error(Exit::interrupted, "interrupted");
    ApiResponse resp = api.send(r);
    if (resp.status < 200 || resp.status > 299)
      throw Error(Exit::failed, "vmm_api_error",
                  fmt::format("firecracker refused {} (HTTP {}): \"{}\"", r.name(), resp.status,
                              resp.fault_message()));
  }
}

void check_qemu(const Plan& plan, const Spawned& child, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  std::string status;
  try {
    status = qmp_status(plan.control_socket, std::max(left, milliseconds(100)));
  } catch (const Error& e) {
    // QEMU closing QMP usually means it exits: say why from its log.
    for (int i = 0; i < 100; ++i) {
      if (auto st = try_reap(child.pid))
        throw Error(Exit::failed, "vmm_exited", exit_message(plan, st, "at start"));
      ::usleep(10000);
    }
    throw;
  }
  if (status != "running" && status != "prelaunch")
    throw Error(Exit::failed, "vmm_not_running",
                fmt::format("qemu reports status '{}' instead of running", status));
}

}  // namespace

VmmInfo launch(const Plan& plan, const LaunchRequest& req) {
  make_dirs(plan.console_log.parent_path(), kStateDirMode);
  make_dirs(plan.run_dir, 0700);
  FileLock lock = lock_image(plan.spec.rootfs, ImageAccess::read_write, "launching");

  keep_previous(plan.console_log);
  keep_previous(plan.vmm_log);
  Fd console = open_log(plan.console_log);
  Fd vmmlog = open_log(plan.vmm_log);
  if (::unlink(plan.control_socket.c_str()) != 0 && errno != ENOENT)
    throw sys_error(fmt::format("removing the stale socket '{}'", plan.control_socket.string()),
                    errno);

  SpawnOptions so;
  so.argv = plan.argv;
  // Firecracker: the UART is the process's stdout (the fallback when PUT
  // /serial is missing), its fatal errors go to stderr. QEMU: the serial
  // port writes the console file itself; what QEMU says goes to vmm.log.
  so.stdout_fd = plan.backend == Backend::firecracker ? console.get() : vmmlog.get();
  so.stderr_fd = vmmlog.get();
  so.pass_fds = {{lock.fd(), 3}};  // the rootfs lock lives as long as the VMM
  const auto start = Clock::now();
  const Spawned child = spawn_detached(so);
  const auto deadline = start + req.start_timeout;

  try {
    PathWait w = wait_for_path(plan.control_socket, req.start_timeout, child.pid, req.stop);
    switch (w.result) {
      case PathWait::appeared:
        break;
      case PathWait::process_exited:
        throw Error(Exit::failed, "vmm_exited",
                    exit_message(plan, w.status,
                                 fmt::format("before its control socket '{}' appeared",
                                             plan.control_socket.string())
                                     .c_str()));
      case PathWait::timed_out:
        throw Error(Exit::failed, "vmm_timeout",
                    fmt::format("{} did not create its control socket '{}' within {} ms",
                                what_vmm(plan.backend), plan.control_socket.string(),
                                req.start_timeout.count()));
      case PathWait::interrupted:
        throw Error(Exit::interrupted, "interrupted");
    }
    if (plan.backend == Backend::firecracker)
      configure_firecracker(plan, child, req, deadline);
    else
      check_qemu(plan, child, deadline);
  } catch (const Error& e) {
    fail_after_start(plan, child, e);
  }

  VmmInfo info;
  info.backend = plan.backend;
  info.accel = plan.accel;
  info.pid = child.pid;
  info.start_time = child.start_time;
  info.console_log = plan.console_log;
  info.log = plan.vmm_log;
  info.control_socket = plan.control_socket;
  info.kernel = plan.spec.kernel;
  info.initrd = plan.spec.initrd;
  info.boot_args = plan.spec.boot_args;
  info.vcpus = plan.spec.vcpus;
  info.mem_mib = plan.spec.mem_mib;
  return info;
}

}  // namespace vmu::vmm
