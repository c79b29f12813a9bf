#include "image/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

FileLock lock_image(const std::filesystem::path& image, ImageAccess access,
                    std::string_view purpose) {
  const int flags = (access == ImageAccess::read_write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  Fd fd(::open(image.c_str(), flags));
  if (!fd) {
    int err = errno;
    throw sys_error(err == ENOENT ? Exit::usage : Exit::failed,
                    fmt::format("opening image '{}'", image.string()), err);
  }
  try {
    return FileLock::acquire_fd(std::move(fd), image, LockMode::exclusive,
                                std::chrono::milliseconds(0));
  } catch (const Error& e) {
    if (e.reason() != "lock_timeout") throw;
    throw Error(Exit::usage, "image_in_use",
                fmt::format("refusing {} '{}': the image is in use (a running VM or another "
                            "vmutils tool holds its lock)",
                            purpose, image.string()));
  }
}

bool image_in_use(const std::filesystem::path& image) {
  Fd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

}  // namespace vmu
