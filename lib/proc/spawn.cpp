#include "proc/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/proc.hpp"

extern char** environ;

namespace vmu {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

void check(int rc, const char* what) {
  if (rc != 0) throw sys_error(fmt::format("preparing a child process ({})", what), rc);
}

// A CLOEXEC copy of `fd` numbered 64 or more, so that dup2 onto the small
// target numbers can never overwrite a source that is still needed.
Fd high_copy(int fd) {
  int c = ::fcntl(fd, F_DUPFD_CLOEXEC, 64);
  if (c < 0) throw sys_error(fmt::format("duplicating descriptor {} for a child", fd), errno);
  return Fd(c);
}

bool path_exists(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

ExitStatus to_status(int st) {
  ExitStatus s;
  if (WIFEXITED(st)) {
    s.exited = true;
    s.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    s.signal = WTERMSIG(st);
  }
  return s;
}

// Waits up to `timeout` for `pid` to end; true when it has (reaped if ours).
bool wait_gone(pid_t pid, int pidfd, milliseconds timeout, std::optional<ExitStatus>& status) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    if (auto s = try_reap(pid)) {
      status = s;
      return true;
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    if (left.count() <= 0) return false;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) {
        if (auto s = try_reap(pid)) status = s;
        return true;  // pidfd readable: the process has ended
      }
      if (r < 0 && errno != EINTR) return false;
    } else {
      ::usleep(5000);  // no pidfd (old kernel): a short bounded tick
    }
  }
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return fmt::format("exited with code {}", code);
  if (signal) {
    const char* abbrev = ::sigabbrev_np(signal);
    return fmt::format("killed by signal {} (SIG{})", signal, abbrev ? abbrev : "?");
  }
  return "ended";
}

Spawned spawn_detached(const SpawnOptions& opts) {
  if (opts.argv.empty() || opts.argv[0].empty())
    throw Error(Exit::failed, "spawn_failed", "spawning a child: no program given");
  SpawnSetup s;
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (opts.new_session) flags |= POSIX_SPAWN_SETSID;
  check(posix_spawnattr_setflags(&s.attr, flags), "flags");
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  check(posix_spawnattr_setsigmask(&s.attr, &none), "signal mask");
  check(posix_spawnattr_setsigdefault(&s.attr, &all), "signal defaults");

  std::vector<Fd> copies;  // closed once the child has its own
  auto hand = [&](int fd, int target) {
    copies.push_back(high_copy(fd));
    check(posix_spawn_file_actions_adddup2(&s.actions, copies.back().get(), target), "dup2");
  };
  check(posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0), "stdin");
  if (opts.stdout_fd >= 0)
    hand(opts.stdout_fd, 1);
  else
    check(posix_spawn_file_actions_addopen(&s.actions, 1, "/dev/null", O_WRONLY, 0), "stdout");
  if (opts.stderr_fd >= 0)
    hand(opts.stderr_fd, 2);
  else
    check(posix_spawn_file_actions_addopen(&s.actions, 2, "/dev/null", O_WRONLY, 0), "stderr");
  int top = 2;
  for (const auto& [fd, target] : opts.pass_fds) {
    if (target < 3 || target > 63)
      throw Error(Exit::failed, "spawn_failed",
                  fmt::format("spawning '{}': descriptor number {} for the child is outside 3..63",
                              opts.argv[0], target));
    hand(fd, target);
    top = std::max(top, target);
  }
  // Everything else goes, CLOEXEC or not: the gaps between the handed
  // numbers (a descriptor our own parent leaked to us may sit there; glibc
  // ignores closing one that is not open), then all above them.
  for (int n = 3; n < top; ++n) {
    bool handed = false;
    for (const auto& pf : opts.pass_fds) handed = handed || pf.second == n;
    if (!handed) check(posix_spawn_file_actions_addclose(&s.actions, n), "close");
  }
  check(posix_spawn_file_actions_addclosefrom_np(&s.actions, top + 1), "closefrom");

  std::vector<char*> argv;
  argv.reserve(opts.argv.size() + 1);
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, opts.argv[0].c_str(), &s.actions, &s.attr, argv.data(), environ);
  if (rc != 0)
    throw Error(Exit::failed, "spawn_failed",
                fmt::format("starting '{}': {}", opts.argv[0], std::strerror(rc)));
  Spawned out;
  out.pid = pid;
  out.start_time = process_start_time(pid).value_or(0);
  return out;
}

std::optional<std::filesystem::path> find_program(const std::string& name) {
  auto usable = [](const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    std::filesystem::path p(name);
    if (!usable(p)) return std::nullopt;
    return std::filesystem::absolute(p);
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::filesystem::path p = std::filesystem::path(dir.empty() ? "." : std::string(dir)) / name;
    if (usable(p)) return std::filesystem::absolute(p);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

std::optional<ExitStatus> try_reap(pid_t pid) {
  int st = 0;
  pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid) return to_status(st);
  return std::nullopt;
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#else
  (void)pid;
#endif
  return -1;
}

PathWait wait_for_path(const std::filesystem::path& path, milliseconds deadline, pid_t pid,
                       bool (*stop)()) {
  const auto start = Clock::now();
  const auto end = start + deadline;
  PathWait out;
  auto finish = [&](PathWait::Result r) {
    out.result = r;
    out.waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    return out;
  };
  Fd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!in) throw sys_error("creating an inotify instance", errno);
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  if (::inotify_add_watch(in.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0)
    throw sys_error(
        fmt::format("watching '{}' for '{}' to appear", dir.string(), path.filename().string()),
        errno);
  Fd pidfd(pid > 0 ? open_pidfd(pid) : -1);

  for (;;) {
    // Checked after the watch exists: a file made before it is seen here,
    // one made after it wakes the poll.
    if (path_exists(path)) return finish(PathWait::appeared);
    if (pid > 0) {
      if (auto s = try_reap(pid)) {
        out.status = s;
        return finish(PathWait::process_exited);
      }
      if (::kill(pid, 0) != 0 && errno == ESRCH) return finish(PathWait::process_exited);
    }
    if (stop && stop()) return finish(PathWait::interrupted);
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    if (left.count() <= 0) return finish(PathWait::timed_out);
    // The tick bounds how late a stop request (a signal handled on another
    // thread) is noticed; without a pidfd it also bounds the exit check.
    const int tick = pidfd ? 200 : 20;
    std::array<pollfd, 2> fds{pollfd{in.get(), POLLIN, 0}, pollfd{pidfd.get(), POLLIN, 0}};
    int r = ::poll(fds.data(), pidfd ? 2 : 1, static_cast<int>(std::min<long>(left.count(), tick)));
    if (r < 0 && errno != EINTR) throw sys_error("waiting for a file to appear", errno);
    if (r > 0 && (fds[0].revents & POLLIN)) {
      std::array<char, 4096> buf;
      while (::read(in.get(), buf.data(), buf.size()) > 0) {
      }
    }
  }
}

std::optional<ExitStatus> stop_process(pid_t pid, std::optional<std::uint64_t> start_time,
                                       milliseconds grace) {
  std::optional<ExitStatus> status;
  if (pid <= 0) return status;
  if (auto s = try_reap(pid)) return s;  // already ended (our child)
  if (!process_alive(pid, start_time)) return status;
  Fd pidfd(open_pidfd(pid));
  // Between the start-time check and the pidfd, the pid could have been
  // reused; the pidfd pins the process, so check again through it.
  if (start_time && !process_alive(pid, start_time)) return status;
  if (pidfd) {
#ifdef SYS_pidfd_send_signal
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
#else
    ::kill(pid, SIGTERM);
#endif
  } else {
    ::kill(pid, SIGTERM);
  }
  if (wait_gone(pid, pidfd.get(), grace, status)) return status;
  if (pidfd) {
#ifdef SYS_pidfd_send_signal
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
#else
    ::kill(pid, SIGKILL);
#endif
  } else {
    ::kill(pid, SIGKILL);
  }
  wait_gone(pid, pidfd.get(), milliseconds(5000), status);
  return status;
}

}  // namespace vmu
