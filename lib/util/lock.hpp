// Advisory file locks (flock) with a deadline: a lock held too long is an
// error that names the file, never a hang.
#pragma once

#include <chrono>
#include <filesystem>

#include "util/fd.hpp"

namespace vmu {

enum class LockMode { shared, exclusive };

class FileLock {
 public:
  // Opens (creating it if needed) and locks `path`. Throws Exit::failed
  // naming the file when the lock is not had within `deadline`.
  static FileLock acquire(const std::filesystem::path& path, LockMode mode,
                          std::chrono::milliseconds deadline);
  // Locks an already open file (e.g. an image); same deadline rule.
  static FileLock acquire_fd(Fd fd, const std::filesystem::path& shown_as, LockMode mode,
                             std::chrono::milliseconds deadline);
  // Tries once; an empty lock (false) when someone else holds it.
  static FileLock try_acquire(const std::filesystem::path& path, LockMode mode);

  FileLock() = default;
  explicit operator bool() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }

 private:
  explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;  // closing the fd drops the lock
};

}  // namespace vmu
