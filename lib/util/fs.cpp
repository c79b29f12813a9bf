#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu {

namespace {

const char* type_name(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void not_regular(const fs::path& path, mode_t m, std::string_view what) {
  throw Error(Exit::usage, "not_regular_file",
              fmt::format("{} '{}' is {}, not a regular file", what, path.string(), type_name(m)));
}

[[noreturn]] void open_failed(const fs::path& path, int err, std::string_view what) {
  if (err == ENOENT || err == ENOTDIR)
    throw Error(Exit::usage, "not_found",
                fmt::format("{} '{}': {}", what, path.string(), std::strerror(err)));
  throw sys_error(fmt::format("opening {} '{}'", what, path.string()), err);
}

}  // namespace

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      throw sys_error(err == ENOSPC || err == EDQUOT ? Exit::exhausted : Exit::failed,
                      fmt::format("writing '{}'", path.string()), err);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

Fd open_regular(const fs::path& path, int flags, std::string_view what) {
  struct stat st {};
  // A FIFO is refused before any open: opening one for writing could wake a
  // reader, and for reading blocks without O_NONBLOCK.
  if (::stat(path.c_str(), &st) != 0) open_failed(path, errno, what);
  if (!S_ISREG(st.st_mode)) not_regular(path, st.st_mode, what);
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) open_failed(path, errno, what);
  // It may have been replaced between stat and open.
  if (::fstat(fd.get(), &st) != 0) throw sys_error(fmt::format("stat '{}'", path.string()), errno);
  if (!S_ISREG(st.st_mode)) not_regular(path, st.st_mode, what);
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0)
    throw sys_error(fmt::format("opening {} '{}'", what, path.string()), errno);
  return fd;
}

void require_regular(const fs::path& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) open_failed(path, errno, what);
  if (!S_ISREG(st.st_mode)) not_regular(path, st.st_mode, what);
}

std::optional<std::string> read_file_if_exists(const fs::path& path, std::size_t limit) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;
  Fd fd = open_regular(path, O_RDONLY, "file");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error(fmt::format("reading '{}'", path.string()), errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > limit)
      throw Error(Exit::usage,
                  fmt::format("'{}' is larger than the limit of {} bytes", path.string(), limit));
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string read_file(const fs::path& path, std::size_t limit) {
  auto s = read_file_if_exists(path, limit);
  if (!s) throw sys_error(Exit::usage, fmt::format("opening '{}'", path.string()), ENOENT);
  return *s;
}

void sync_dir(const fs::path& dir) {
  Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error(fmt::format("opening folder '{}'", dir.string()), errno);
  if (::fsync(fd.get()) != 0) throw sys_error(fmt::format("syncing '{}'", dir.string()), errno);
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode,
                       const WriteHook& hook, Survives survives) {
  const bool sync = survives == Survives::power_cut;
  const fs::path dir = path.parent_path();
  std::random_device rd;
  const fs::path tmp =
      dir / fmt::format(".{}.tmp.{}.{:08x}", path.filename().string(), ::getpid(), rd());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) {
    int err = errno;
    throw sys_error(err == ENOSPC || err == EDQUOT ? Exit::exhausted : Exit::failed,
                    fmt::format("creating '{}'", tmp.string()), err);
  }
  // Removes the temporary file on every way out but success.
  struct TempGuard {
    const fs::path& p;
    bool armed = true;
    ~TempGuard() {
      if (armed) ::unlink(p.c_str());
    }
  } guard{tmp};

  if (::fchmod(fd.get(), mode) != 0)  // not subject to the umask
    throw sys_error(fmt::format("setting the mode of '{}'", tmp.string()), errno);
  const std::size_t half = data.size() / 2;
  write_all(fd.get(), data.substr(0, half), tmp);
  if (hook) hook("temp-partial");
  write_all(fd.get(), data.substr(half), tmp);
  if (sync && ::fsync(fd.get()) != 0)
    throw sys_error(fmt::format("syncing '{}'", tmp.string()), errno);
  fd.reset();
  if (hook) hook("temp-synced");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw sys_error(fmt::format("renaming '{}' to '{}'", tmp.string(), path.string()), errno);
  guard.armed = false;
  if (hook) hook("renamed");
  if (sync) sync_dir(dir);
}

void remove_stale_temps(const fs::path& dir, std::string_view name) {
  const std::string prefix = fmt::format(".{}.tmp.", name);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().starts_with(prefix)) fs::remove(e.path(), ec);
  }
}

void make_dirs(const fs::path& path, mode_t mode) {
  if (path.empty()) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw Error(Exit::failed, fmt::format("'{}' exists and is not a folder", path.string()));
  }
  make_dirs(path.parent_path(), mode);
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    throw sys_error(fmt::format("creating folder '{}'", path.string()), errno);
}

}  // namespace vmu
