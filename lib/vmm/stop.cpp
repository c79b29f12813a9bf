#include "vmm/stop.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "proc/spawn.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/proc.hpp"
#include "vmm/firecracker.hpp"
#include "vmm/qemu.hpp"

namespace vmu::vmm {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kControlTimeout{3000};  // one QMP/API exchange
constexpr milliseconds kQuitWait{3000};        // QEMU ends after `quit`
constexpr milliseconds kKillWait{5000};        // the kernel reaps after SIGKILL

// Waits until the process behind `pidfd` (or `pid`) is gone, up to `d`.
bool wait_gone(const Fd& pidfd, pid_t pid, std::optional<std::uint64_t> start, milliseconds d) {
  const auto end = Clock::now() + d;
  for (;;) {
    if (pidfd) {
      const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      pollfd p{pidfd.get(), POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (r > 0) return true;
      if (r < 0 && errno == EINTR) continue;
      return !process_alive(pid, start);
    }
    // No pidfd (an old kernel): the only way left is to look again.
    if (!process_alive(pid, start)) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// Waits for the end of the process, up to `d`, while the guest answers a
// shutdown request: gives up early when `console` gets no byte for `quiet`.
// Returns true when the process is gone.
bool wait_shutdown(const Fd& pidfd, pid_t pid, std::optional<std::uint64_t> start, milliseconds d,
                   const fs::path& console, milliseconds quiet, bool& ignored) {
  ignored = false;
  Fd ino(console.empty() ? -1 : ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!pidfd || !ino || ::inotify_add_watch(ino.get(), console.c_str(), IN_MODIFY) < 0)
    return wait_gone(pidfd, pid, start, d);
  const auto end = Clock::now() + d;
  auto last = Clock::now();
  for (;;) {
    const auto now = Clock::now();
    if (now >= end) return !process_alive(pid, start);
    if (now - last >= quiet) {
      ignored = true;
      return false;
    }
    const auto wake = std::min(end, last + quiet);
    const auto left = std::chrono::duration_cast<milliseconds>(wake - now).count() + 1;
    pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {ino.get(), POLLIN, 0}};
    const int r = ::poll(p, 2, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return wait_gone(pidfd, pid, start, milliseconds(0));
    if (r > 0 && (p[0].revents & POLLIN)) return true;
    if (r > 0 && (p[1].revents & POLLIN)) {
      alignas(inotify_event) char buf[4096];
      while (::read(ino.get(), buf, sizeof buf) > 0) {
      }
      last = Clock::now();
    }
  }
}

void send_signal(const Fd& pidfd, pid_t pid, int sig) {
  int rc = -1;
#ifdef SYS_pidfd_send_signal
  if (pidfd) rc = static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0));
#endif
  if (!pidfd || rc != 0) rc = ::kill(pid, sig);
  if (rc != 0 && errno != ESRCH)
    throw sys_error(
        fmt::format("sending {} to the VMM (pid {})", sig == SIGKILL ? "SIGKILL" : "SIGTERM", pid),
        errno);
}

}  // namespace

std::string_view stop_word(StopHow how) {
  switch (how) {
    case StopHow::not_running:
      return "not_running";
    case StopHow::pid_reused:
      return "pid_reused";
    case StopHow::powerdown:
      return "powerdown";
    case StopHow::ctrl_alt_del:
      return "ctrl_alt_del";
    case StopHow::quit:
      return "quit";
    case StopHow::sigterm:
      return "sigterm";
    case StopHow::sigkill:
      return "sigkill";
  }
  return "unknown";
}

std::optional<StopRequest> stop_request(const Record& rec) {
  const Json& v = rec.get("vmm");
  auto pid = v.find("pid");
  if (pid == v.end() || !pid->is_number_integer() || pid->get<long long>() <= 0)
    return std::nullopt;
  StopRequest r;
  r.pid = static_cast<pid_t>(pid->get<long long>());
  if (auto s = v.find("start_time"); s != v.end() && s->is_number_integer() && *s >= 0)
    r.start_time = s->get<std::uint64_t>();
  if (auto b = v.find("backend"); b != v.end() && b->is_string()) {
    try {
      r.backend = parse_backend(b->get<std::string>());
    } catch (const Error&) {
      r.control_socket.clear();  // an unknown backend: signals only
    }
  }
  if (auto c = v.find("control_socket"); c != v.end() && c->is_string())
    r.control_socket = c->get<std::string>();
  if (auto c = v.find("console_log"); c != v.end() && c->is_string())
    r.console = c->get<std::string>();
  return r;
}

StopOutcome stop_vm(const StopRequest& req) {
  StopOutcome out;
  const auto t0 = Clock::now();
  auto finish = [&](StopHow how) {
    out.how = how;
    out.took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    return out;
  };
  if (req.pid <= 0) return finish(StopHow::not_running);
  if (!process_alive(req.pid, req.start_time)) {
    if (req.start_time && process_alive(req.pid, std::nullopt)) {
      out.steps.push_back(
          fmt::format("pid {} now belongs to another process (start time differs): "
                      "not touched",
                      req.pid));
      return finish(StopHow::pid_reused);
    }
    return finish(StopHow::not_running);
  }
  // The pidfd pins the process; check again through it that it is ours.
  Fd pidfd(open_pidfd(req.pid));
  if (!process_alive(req.pid, req.start_time)) return finish(StopHow::not_running);

  // 1. Politely, through the VMM.
  const bool have_socket = !req.control_socket.empty();
  if (have_socket && req.backend == Backend::qemu) {
    bool asked_quit = false;
    try {
      qmp_execute(req.control_socket, "system_powerdown", kControlTimeout);
      out.steps.push_back("asked the guest to power off (QMP system_powerdown)");
      bool ignored = false;
      if (wait_shutdown(pidfd, req.pid, req.start_time, req.grace, req.console, req.quiet, ignored))
        return finish(StopHow::powerdown);
      out.steps.push_back(ignored ? fmt::format("the guest ignored it (its console stayed silent "
                                                "for {})",
                                                format_duration(req.quiet))
                                  : fmt::format("the guest did not power off within {}",
                                                format_duration(req.grace)));
      asked_quit = true;
      qmp_execute(req.control_socket, "quit", kControlTimeout);
      out.steps.push_back("told QEMU to quit (QMP quit)");
      if (wait_gone(pidfd, req.pid, req.start_time, kQuitWait)) return finish(StopHow::quit);
    } catch (const Error& e) {
      // QEMU closing the socket while answering `quit` is it exiting.
      if (wait_gone(pidfd, req.pid, req.start_time, milliseconds(500)))
        return finish(asked_quit ? StopHow::quit : StopHow::powerdown);
      out.steps.push_back(fmt::format("QMP: {}", e.what()));
    }
  } else if (have_socket && req.backend == Backend::firecracker) {
    try {
      ApiClient api(req.control_socket, kControlTimeout);
      ApiResponse r = api.send({"PUT", "/actions", Json{{"action_type", "SendCtrlAltDel"}}});
      if (r.status == 204) {
        out.steps.push_back("sent Ctrl+Alt+Del to the guest (PUT /actions SendCtrlAltDel)");
        bool ignored = false;
        if (wait_shutdown(pidfd, req.pid, req.start_time, req.grace, req.console, req.quiet,
                          ignored))
          return finish(StopHow::ctrl_alt_del);
        out.steps.push_back(ignored ? fmt::format("the guest ignored it (its console stayed "
                                                  "silent for {})",
                                                  format_duration(req.quiet))
                                    : fmt::format("Firecracker still runs {} after Ctrl+Alt+Del",
                                                  format_duration(req.grace)));
      } else {
        out.steps.push_back(
            fmt::format("PUT /actions SendCtrlAltDel: HTTP {}: {}", r.status, r.fault_message()));
      }
    } catch (const Error& e) {
      out.steps.push_back(e.what());
    }
  }

  // 2. Signals.
  send_signal(pidfd, req.pid, SIGTERM);
  out.steps.push_back("sent SIGTERM");
  if (wait_gone(pidfd, req.pid, req.start_time, req.grace)) return finish(StopHow::sigterm);
  send_signal(pidfd, req.pid, SIGKILL);
  out.steps.push_back(fmt::format("sent SIGKILL ({} after SIGTERM)", format_duration(req.grace)));
  if (wait_gone(pidfd, req.pid, req.start_time, kKillWait)) return finish(StopHow::sigkill);
  throw Error(Exit::failed, "vmm_not_stopped",
              fmt::format("the VMM (pid {}) is still there {} after SIGKILL (stuck in the kernel?)",
                          req.pid, format_duration(kKillWait)));
}

}  // namespace vmu::vmm
