#include "clone/grow.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <limits>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fd.hpp"

extern char** environ;

namespace vmu {

namespace {

constexpr std::size_t kMaxOutput = 64u << 10;

std::string last_lines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // Keep the message short: the last three lines carry the reason.
  std::size_t pos = s.size();
  for (int i = 0; i < 3 && pos != std::string::npos && pos > 0; ++i) pos = s.rfind('\n', pos - 1);
  if (pos != std::string::npos && pos < s.size()) s = s.substr(pos + 1);
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace

std::uint64_t parse_size(std::string_view s, std::string_view what, std::uint64_t multiple) {
  auto bad = [&](std::string_view why) {
    return Error(Exit::usage, fmt::format("{}{}'{}': {} (e.g. 2G, 1536M, 4294967296)", what,
                                          what.empty() ? "" : " ", s, why));
  };
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    const std::uint64_t digit = static_cast<std::uint64_t>(s[i] - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) throw bad("too large");
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0) throw bad("not a size");
  std::string unit(s.substr(i));
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB"))
    unit.resize(unit.size() - 2);
  else if (unit.size() == 2 && unit.back() == 'B')
    unit.pop_back();
  else if (unit == "B")
    unit.clear();
  int shift = 0;
  if (unit.empty())
    shift = 0;
  else if (unit == "K")
    shift = 10;
  else if (unit == "M")
    shift = 20;
  else if (unit == "G")
    shift = 30;
  else if (unit == "T")
    shift = 40;
  else
    throw bad("unknown unit (use K, M, G or T)");
  if (shift && n > (std::numeric_limits<std::uint64_t>::max() >> shift)) throw bad("too large");
  n <<= shift;
  if (n == 0) throw bad("must be more than 0");
  if (multiple > 1 && n % multiple)
    throw bad(multiple == 1024 ? std::string("must be a whole number of KiB")
                               : fmt::format("must be a multiple of {} bytes", multiple));
  return n;
}

CommandResult run_command(const std::vector<std::string>& argv, const StopFn& stop) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw sys_error("creating a pipe", errno);
  Fd rd(p[0]), wr(p[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal handling and nothing blocked.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0)
    throw sys_error(fmt::format("starting '{}' (is e2fsprogs installed?)", argv[0]), err);
  wr.reset();

  CommandResult res;
  bool stopped = false;
  for (;;) {
    if (!stopped && stop && stop()) {
      ::kill(pid, SIGTERM);
      stopped = true;
    }
    pollfd pfd{rd.get(), POLLIN, 0};
    // The timeout only bounds how late a stop request is seen.
    int r = ::poll(&pfd, 1, 100);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child has gone (or closed its output)
    if (res.output.size() < kMaxOutput)
      res.output.append(
          buf, std::min<std::size_t>(static_cast<std::size_t>(n), kMaxOutput - res.output.size()));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw sys_error(fmt::format("waiting for '{}'", argv[0]), errno);
  }
  res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stopped) throw_if_stopped(stop, fmt::format("running '{}'", argv[0]));
  return res;
}

void grow_image(const std::filesystem::path& image, int fd, std::uint64_t new_size,
                const StopFn& stop) {
  const std::string img = image.string();
  // resize2fs refuses a filesystem not checked since it was last mounted;
  // -p repairs only what is safe without asking. 0: clean, 1: fixed.
  CommandResult fsck = run_command({"e2fsck", "-f", "-p", img}, stop);
  if (fsck.status > 1)
    throw Error(Exit::guest_failed, "golden_damaged",
                fmt::format("checking the clone before growing it: e2fsck -f -p exited with "
                            "{}: {}; run 'e2fsck -fn' on the golden",
                            fsck.status, last_lines(fsck.output)));
  throw_if_stopped(stop, fmt::format("growing '{}'", img));
  if (::ftruncate(fd, static_cast<off_t>(new_size)) != 0) {
    const int err = errno;
    throw sys_error(err == ENOSPC || err == EFBIG || err == EDQUOT ? Exit::exhausted : Exit::failed,
                    fmt::format("extending '{}' to {} bytes", img, new_size), err);
  }
  CommandResult rs = run_command({"resize2fs", img}, stop);
  if (rs.status != 0) {
    const bool full = rs.output.find("No space left") != std::string::npos;
    throw Error(full ? Exit::exhausted : Exit::failed, full ? "disk_full" : "resize_failed",
                fmt::format("growing the filesystem in '{}' to {} bytes: resize2fs exited with "
                            "{}: {}",
                            img, new_size, rs.status, last_lines(rs.output)));
  }
}

}  // namespace vmu
