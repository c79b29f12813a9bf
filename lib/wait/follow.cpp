#include "wait/follow.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu::wait {

FileFollower::FileFollower() : ino_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  if (!ino_) throw sys_error("creating an inotify instance", errno);
}

void FileFollower::watch_dir(const std::filesystem::path& dir) {
  for (const auto& [wd, d] : dirs_)
    if (d == dir) return;
  const int wd = ::inotify_add_watch(ino_.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
  if (wd >= 0) dirs_[wd] = dir;
}

void FileFollower::open_file(Id id, File& f) {
  Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return;
  const int wd = ::inotify_add_watch(ino_.get(), f.path.c_str(),
                                     IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB);
  if (wd < 0) return;
  if (f.wd >= 0 && f.wd != wd) by_wd_.erase(f.wd);
  f.fd = std::move(fd);
  f.wd = wd;
  f.offset = 0;
  f.moved = false;
  by_wd_[wd] = id;
  dirty_.insert(id);  // whatever it already holds
}

void FileFollower::add(Id id, const std::filesystem::path& path) {
  File& f = files_[id];
  f.path = path;
  // The folder first: a file made between the two calls is still seen.
  watch_dir(path.parent_path().empty() ? "." : path.parent_path());
  open_file(id, f);
}

void FileFollower::remove(Id id) {
  auto it = files_.find(id);
  if (it == files_.end()) return;
  if (it->second.wd >= 0) {
    bool shared = false;
    for (const auto& [other, f] : files_)
      if (other != id && f.wd == it->second.wd) shared = true;
    if (!shared) {
      ::inotify_rm_watch(ino_.get(), it->second.wd);
      by_wd_.erase(it->second.wd);
    }
  }
  files_.erase(it);
  dirty_.erase(id);
}

void FileFollower::on_readable() {
  alignas(inotify_event) char buf[16384];
  for (;;) {
    const ssize_t n = ::read(ino_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      inotify_event ev;
      std::memcpy(&ev, buf + off, sizeof ev);
      const char* name = buf + off + sizeof(inotify_event);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev.len);
      if (ev.mask & IN_Q_OVERFLOW) {
        for (auto& [id, f] : files_) dirty_.insert(id);  // lost events: look at every file
        continue;
      }
      if (auto d = dirs_.find(ev.wd); d != dirs_.end() && ev.len > 0) {
        const std::filesystem::path made = d->second / std::string(name);
        for (auto& [id, f] : files_)
          if (f.path == made && (!f.fd || f.moved)) {
            if (f.moved) continue;  // read the old one to its end first (read() reopens)
            open_file(id, f);
          }
        continue;
      }
      auto w = by_wd_.find(ev.wd);
      if (w == by_wd_.end()) continue;
      for (auto& [id, f] : files_) {
        if (f.wd != ev.wd) continue;
        dirty_.insert(id);
        if (ev.mask & (IN_MOVE_SELF | IN_DELETE_SELF)) f.moved = true;
        if (ev.mask & IN_IGNORED) f.wd = -1;
      }
    }
  }
}

FileFollower::Chunk FileFollower::read(Id id, std::string& out, std::size_t max) {
  Chunk c;
  auto it = files_.find(id);
  if (it == files_.end()) return c;
  File& f = it->second;
  if (!f.fd) {
    open_file(id, f);
    if (!f.fd) {
      dirty_.erase(id);
      c.missing = true;
      return c;
    }
  }
  struct stat st {};
  if (::fstat(f.fd.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) < f.offset) {
    f.offset = 0;
    c.truncated = true;
  }
  const std::size_t start = out.size();
  out.resize(start + max);
  std::size_t got = 0;
  while (got < max) {
    const ssize_t n = ::pread(f.fd.get(), out.data() + start + got, max - got,
                              static_cast<off_t>(f.offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(start + got);
  f.offset += got;
  c.bytes = got;
  if (got < max) {
    dirty_.erase(id);
    if (f.moved) {
      // The old file is read to its end; follow the new one under the name.
      ::inotify_rm_watch(ino_.get(), f.wd);
      by_wd_.erase(f.wd);
      f.wd = -1;
      f.fd.reset();
      f.moved = false;
      open_file(id, f);  // a relaunched VMM's new log: its lines simply follow
    }
  }
  return c;
}

FileFollower::Chunk FileFollower::drain(Id id, std::string& out, std::size_t max) {
  Chunk total;
  for (;;) {
    const std::size_t before = out.size();
    if (before >= max) break;
    Chunk c = read(id, out, std::min<std::size_t>(max - before, 1u << 20));
    total.bytes += c.bytes;
    total.truncated = total.truncated || c.truncated;
    total.missing = c.missing;
    if (c.bytes == 0) break;
  }
  return total;
}

}  // namespace vmu::wait
