#include "image/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace vmu {

FileLock lock_image(const std::filesystem::path& image, ImageAccess access,
                    std::string_view purpose) {
  Fd fd = open_regular(image, access == ImageAccess::read_write ? O_RDWR : O_RDONLY, "image");
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
  Fd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

}  // namespace vmu
