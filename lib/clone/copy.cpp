#include "clone/copy.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

namespace {

constexpr std::size_t kChunk = 32u << 20;  // between two looks at `stop`
constexpr std::size_t kBuf = 1u << 20;     // read/write fallback buffer
constexpr std::size_t kZeroBlock = 4096;   // holes punched at this grain

// A full disk met while copying has its own reason ("disk_full_copying"),
// told apart from the free-space check before the copy ("disk_full").
Error write_error(const std::filesystem::path& dst, int err) {
  const bool full = err == ENOSPC || err == EDQUOT || err == EFBIG;
  const Error e = sys_error(full ? Exit::exhausted : Exit::failed,
                            fmt::format("writing '{}'{}", dst.string(),
                                        full ? " (free some space in the VM's state folder)" : ""),
                            err);
  return full ? Error(e.code(), "disk_full_copying", e.what()) : e;
}

bool all_zero(const char* p, std::size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

// Copies [pos, end) by read/write, leaving all-zero blocks as holes.
std::uint64_t read_write_range(int src, int dst, std::uint64_t pos, std::uint64_t end,
                               const std::filesystem::path& src_name,
                               const std::filesystem::path& dst_name, const StopFn& stop,
                               std::vector<char>& buf,
                               const std::function<void(std::uint64_t)>& at) {
  std::uint64_t moved = 0;
  std::uint64_t since_check = 0;
  while (pos < end) {
    if (since_check >= kChunk) {
      throw_if_stopped(stop, fmt::format("copying to '{}'", dst_name.string()));
      at(pos);
      since_check = 0;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kBuf, end - pos));
    ssize_t n = ::pread(src, buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error(fmt::format("reading '{}'", src_name.string()), errno);
    }
    if (n == 0)
      throw Error(Exit::failed, "golden_modified",
                  fmt::format("'{}' became shorter while it was copied", src_name.string()));
    const std::size_t got = static_cast<std::size_t>(n);
    for (std::size_t off = 0; off < got;) {
      const std::size_t len = std::min(kZeroBlock, got - off);
      if (all_zero(buf.data() + off, len)) {
        off += len;
        continue;
      }
      // A run of non-zero blocks in one write.
      std::size_t run = len;
      while (off + run < got) {
        const std::size_t l = std::min(kZeroBlock, got - off - run);
        if (all_zero(buf.data() + off + run, l)) break;
        run += l;
      }
      for (std::size_t done = 0; done < run;) {
        ssize_t w = ::pwrite(dst, buf.data() + off + done, run - done,
                             static_cast<off_t>(pos + off + done));
        if (w < 0) {
          if (errno == EINTR) continue;
          throw write_error(dst_name, errno);
        }
        done += static_cast<std::size_t>(w);
      }
      off += run;
    }
    pos += got;
    moved += got;
    since_check += got;
  }
  return moved;
}

}  // namespace

std::string_view method_name(CloneMethod m) {
  switch (m) {
    case CloneMethod::automatic:
      return "auto";
    case CloneMethod::reflink:
      return "reflink";
    case CloneMethod::copy:
      return "copy";
  }
  return "auto";
}

CloneMethod parse_method(std::string_view s) {
  if (s == "auto") return CloneMethod::automatic;
  if (s == "reflink") return CloneMethod::reflink;
  if (s == "copy") return CloneMethod::copy;
  throw Error(Exit::usage, fmt::format("unknown --method '{}': use auto, reflink or copy", s));
}

bool reflink_unsupported(int err) {
  return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY || err == ENOSYS;
}

int try_reflink(int src, int dst) {
  for (;;) {
    if (::ioctl(dst, FICLONE, src) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

CopyStats sparse_copy(int src, int dst, std::uint64_t size, const std::filesystem::path& src_name,
                      const std::filesystem::path& dst_name, const StopFn& stop,
                      bool start_writeback, const ProgressFn& progress) {
  CopyStats stats;
  const std::string subject = src_name.string();
  const auto at_offset = [&](std::uint64_t off) {
    report(progress, "copying", subject, off, size);
  };
  at_offset(0);
  std::vector<char> buf;
  const std::string doing = fmt::format("copying to '{}'", dst_name.string());
  ::posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::uint64_t pos = 0;
  while (pos < size) {
    throw_if_stopped(stop, doing);
    at_offset(pos);
    // The next data extent [data, hole).
    off_t d = ::lseek(src, static_cast<off_t>(pos), SEEK_DATA);
    if (d < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      if (errno != EINVAL && errno != EOPNOTSUPP)
        throw sys_error(fmt::format("looking for data in '{}'", src_name.string()), errno);
      d = static_cast<off_t>(pos);  // no SEEK_DATA here: all of it is data
    }
    const std::uint64_t data = std::min<std::uint64_t>(static_cast<std::uint64_t>(d), size);
    if (data >= size) break;
    off_t h = ::lseek(src, static_cast<off_t>(data), SEEK_HOLE);
    const std::uint64_t hole =
        h < 0 ? size : std::min<std::uint64_t>(static_cast<std::uint64_t>(h), size);

    std::uint64_t at = data;
    while (at < hole && !stats.read_write) {
      throw_if_stopped(stop, doing);
      loff_t in = static_cast<loff_t>(at), out = static_cast<loff_t>(at);
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, hole - at));
      ssize_t n = ::copy_file_range(src, &in, dst, &out, want, 0);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EXDEV || err == ENOSYS || err == EOPNOTSUPP) {
          stats.read_write = true;  // this kernel or filesystem cannot: read/write from here on
          break;
        }
        if (err == ENOSPC || err == EDQUOT || err == EFBIG) throw write_error(dst_name, err);
        throw sys_error(fmt::format("copying '{}' to '{}'", src_name.string(), dst_name.string()),
                        err);
      }
      if (n == 0) {  // unexpected end: let read/write say why
        stats.read_write = true;
        break;
      }
      // Start writing this chunk back now, so the final fsync has little
      // left to wait for (the disk works while we copy the next chunk).
      if (start_writeback) ::sync_file_range(dst, static_cast<off_t>(at), n, SYNC_FILE_RANGE_WRITE);
      at += static_cast<std::uint64_t>(n);
      stats.bytes += static_cast<std::uint64_t>(n);
      at_offset(at);
    }
    if (at < hole) {
      if (buf.empty()) buf.resize(kBuf);
      stats.bytes += read_write_range(src, dst, at, hole, src_name, dst_name, stop, buf, at_offset);
    }
    pos = hole;
  }
  if (::ftruncate(dst, static_cast<off_t>(size)) != 0) throw write_error(dst_name, errno);
  at_offset(size);
  return stats;
}

}  // namespace vmu
