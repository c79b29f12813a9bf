// Child processes for long-lived helpers (VMMs): started from an argv vector
// (never a shell string), detached in their own session so they outlive the
// caller's terminal, SSH session or CI step, with exactly the file
// descriptors they are handed and nothing else.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmu {

struct SpawnOptions {
  // argv[0] is the program: a path (used as is) — resolve names with
  // find_program first.
  std::vector<std::string> argv;
  // Descriptors for the child's stdout and stderr; -1 means /dev/null.
  // stdin is always /dev/null.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // More descriptors to hand over: {fd in this process, fd number in the
  // child}. Child numbers must be 3..63. Every other descriptor is closed in
  // the child, whatever its O_CLOEXEC flag.
  std::vector<std::pair<int, int>> pass_fds;
  // setsid() in the child: its own session and process group, no
  // controlling terminal, so the caller's hangup or Ctrl-C does not reach it.
  bool new_session = true;
};

struct Spawned {
  pid_t pid = -1;
  std::uint64_t start_time = 0;  // process_start_time(pid): pid + this name one process
};

// Starts the program. Signals the caller ignores or handles are reset to
// their defaults, and the signal mask is cleared, in the child. Throws
// Exit::failed (reason "spawn_failed") naming the program and the errno
// when it cannot be run (ENOENT, EACCES, ...).
Spawned spawn_detached(const SpawnOptions& opts);

// Looks `name` up like execvp: a name with a '/' is taken as a path (if it
// is an executable file); otherwise each $PATH folder is tried.
std::optional<std::filesystem::path> find_program(const std::string& name);

// How a process ended, as waitpid reports it.
struct ExitStatus {
  bool exited = false;  // normal exit: `code` is the exit code
  int code = 0;
  int signal = 0;                // killed by this signal (when !exited)
  std::string describe() const;  // "exited with code 1", "killed by signal 9 (SIGKILL)"
};

// Non-blocking check of our own child: its status once it has ended (the
// child is reaped), std::nullopt while it runs.
std::optional<ExitStatus> try_reap(pid_t pid);

// A descriptor that becomes readable when `pid` ends (pidfd_open); -1 when
// the kernel has none or the process is gone. The caller closes it.
int open_pidfd(pid_t pid);

// Outcome of wait_for_path.
struct PathWait {
  enum Result { appeared, process_exited, timed_out, interrupted } result = timed_out;
  std::optional<ExitStatus> status;  // with process_exited, when `pid` was our child
  std::chrono::milliseconds waited{0};
};

// Waits until `path` exists, watching its folder with inotify (no polling
// sleep), up to `deadline`. When `pid` > 0 it also watches that process and
// returns process_exited as soon as it ends. `stop` is asked on every wake
// (e.g. a SIGINT); true ends the wait with `interrupted`. The folder must
// exist. Throws only when inotify itself fails.
PathWait wait_for_path(const std::filesystem::path& path, std::chrono::milliseconds deadline,
                       pid_t pid = -1, bool (*stop)() = nullptr);

// Stops a process: SIGTERM, then SIGKILL if it is still there after
// `grace`, then waits (bounded) for it to be gone; reaps it when it is our
// child. `start_time` (if given) guards against a reused pid: a different
// process is never signalled. Returns how it ended when we reaped it.
std::optional<ExitStatus> stop_process(pid_t pid, std::optional<std::uint64_t> start_time,
                                       std::chrono::milliseconds grace);

}  // namespace vmu
