#include "util/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

namespace {

Fd open_lock_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // read-only media
  if (!fd) throw sys_error(fmt::format("opening lock file '{}'", path.string()), errno);
  return fd;
}

}  // namespace

FileLock FileLock::acquire_fd(Fd fd, const std::filesystem::path& shown_as, LockMode mode,
                              std::chrono::milliseconds deadline) {
  const int op = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  const auto until = std::chrono::steady_clock::now() + deadline;
  // flock has no timed wait: poll with a short randomised backoff so that
  // many waiters neither spin nor march in step.
  std::minstd_rand rng(static_cast<unsigned>(::getpid()));
  auto backoff = std::chrono::microseconds(200);
  for (;;) {
    if (::flock(fd.get(), op) == 0) return FileLock(std::move(fd));
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      throw sys_error(fmt::format("locking '{}'", shown_as.string()), errno);
    if (std::chrono::steady_clock::now() >= until)
      throw Error(Exit::failed, "lock_timeout",
                  fmt::format("timed out after {} ms waiting for the lock on '{}' (another "
                              "vmutils process holds it)",
                              deadline.count(), shown_as.string()));
    std::this_thread::sleep_for(backoff + std::chrono::microseconds(rng() % 500));
    backoff = std::min(backoff * 2, std::chrono::microseconds(5000));
  }
}

FileLock FileLock::acquire(const std::filesystem::path& path, LockMode mode,
                           std::chrono::milliseconds deadline) {
  return acquire_fd(open_lock_file(path), path, mode, deadline);
}

FileLock FileLock::try_acquire(const std::filesystem::path& path, LockMode mode) {
  Fd fd = open_lock_file(path);
  if (::flock(fd.get(), (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
    return FileLock(std::move(fd));
  if (errno == EWOULDBLOCK) return FileLock();
  throw sys_error(fmt::format("locking '{}'", path.string()), errno);
}

}  // namespace vmu
