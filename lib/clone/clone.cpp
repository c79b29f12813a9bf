#include "clone/clone.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "clone/golden.hpp"
#include "clone/grow.hpp"
#include "clone/identity.hpp"
#include "clone/machine_id.hpp"
#include "image/lock.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"
#include "util/time.hpp"

namespace vmu {

namespace {

constexpr std::string_view kRootfsName = "rootfs.ext4";

// For messages: which filesystem a folder is on.
std::string fs_type_of(int fd) {
  struct statfs s {};
  if (::fstatfs(fd, &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case EXT4_SUPER_MAGIC:
      return "ext2/3/4";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case NFS_SUPER_MAGIC:
      return "nfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default:
      return fmt::format("type 0x{:x}", static_cast<unsigned long>(s.f_type));
  }
}

// The temporary clone: unlinked on every way out but a successful rename.
class TempImage {
 public:
  explicit TempImage(const std::filesystem::path& dir) {
    std::random_device rd;
    path_ = dir / fmt::format(".{}.tmp.{}.{:08x}", kRootfsName, ::getpid(), rd());
    fd_.reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd_) {
      const int err = errno;
      throw sys_error(err == ENOSPC || err == EDQUOT ? Exit::exhausted : Exit::failed,
                      fmt::format("creating '{}'", path_.string()), err);
    }
    // Our image lock on the new inode: marks the temp file as alive (see
    // remove_stale_temps) and, after the rename, keeps rootfs.ext4 locked
    // until the clone is finished.
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0)
      throw sys_error(fmt::format("locking '{}'", path_.string()), errno);
  }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  ~TempImage() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  void committed() { path_.clear(); }

 private:
  std::filesystem::path path_;
  Fd fd_;
};

// Temporary clones left by a killed rootfs-clone: the ones whose lock
// nobody holds. A live clone's temp file is locked by its writer.
void remove_stale_temps_unlocked(const std::filesystem::path& dir) {
  const std::string prefix = fmt::format(".{}.tmp.", kRootfsName);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.path().filename().string().starts_with(prefix)) continue;
    Fd fd(::open(e.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) ::unlink(e.path().c_str());
  }
}

// Renames the finished clone into place. Without `replace`, an existing
// rootfs.ext4 (one a concurrent run put there) is never overwritten. With
// `sync`, the folder is fsynced after, so the rename is durable too.
void commit(TempImage& tmp, const std::filesystem::path& dest, bool replace, bool sync) {
  int rc =
      replace ? ::rename(tmp.path().c_str(), dest.c_str())
              : ::renameat2(AT_FDCWD, tmp.path().c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && !replace && errno == EINVAL) {  // no RENAME_NOREPLACE on this filesystem
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0)
      errno = EEXIST;
    else
      rc = ::rename(tmp.path().c_str(), dest.c_str());
  }
  if (rc != 0) {
    const int err = errno;
    if (err == EEXIST)
      throw Error(Exit::usage, "rootfs_exists",
                  fmt::format("'{}' appeared while cloning (another rootfs-clone for this VM?); "
                              "pass --force to replace it",
                              dest.string()));
    throw sys_error(fmt::format("renaming '{}' to '{}'", tmp.path().string(), dest.string()), err);
  }
  tmp.committed();
  if (sync) sync_dir(dest.parent_path());
}

}  // namespace

std::string normalise_digest(std::string_view s) {
  std::string d(s);
  for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (d.starts_with("sha256:")) d.erase(0, 7);
  const bool ok = d.size() == 64 && d.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!ok)
    throw Error(Exit::usage,
                fmt::format("--expect-digest '{}' is not a SHA-256 digest (64 hex digits)", s));
  return d;
}

CloneResult clone_rootfs(Record& rec, const State& st, const CloneOptions& opts, const StopFn& stop,
                         const ProgressFn& progress) {
  CloneResult res;
  const std::filesystem::path golden = std::filesystem::absolute(opts.golden).lexically_normal();
  const std::string g = golden.string();
  const std::optional<std::string> expect =
      opts.expect_digest ? std::optional(normalise_digest(*opts.expect_digest)) : std::nullopt;

  // --- The golden: opened read-only, checked, share-locked. -------------
  Fd gfd = open_regular(golden, O_RDONLY, "the golden");
  struct stat gst {};
  if (::fstat(gfd.get(), &gst) != 0) throw sys_error(fmt::format("stat '{}'", g), errno);
  if (!S_ISREG(gst.st_mode))
    throw Error(Exit::usage, "golden_not_file",
                fmt::format("the golden '{}' is not a regular file (an image file made by "
                            "mke2fs is expected)",
                            g));
  const auto golden_size = static_cast<std::uint64_t>(gst.st_size);
  if (opts.size && *opts.size < golden_size)
    throw Error(Exit::usage, "cannot_shrink",
                fmt::format("--size {} is smaller than the golden '{}' ({} bytes); a clone can "
                            "only grow",
                            *opts.size, g, golden_size));
  // A shared image lock: vmutils writers (and a VM booted from the golden)
  // hold it exclusively, so the golden cannot change under the copy.
  if (::flock(gfd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw sys_error(fmt::format("locking '{}'", g), errno);
    throw Error(Exit::usage, "golden_in_use",
                fmt::format("the golden '{}' is in use (a running VM or a vmutils writer holds "
                            "its lock); a golden must not change while it is cloned",
                            g));
  }
  const Superblock sb = read_superblock(gfd.get(), golden);
  check_golden_superblock(sb, golden_size, golden);
  check_golden_not_mounted(golden, gst.st_dev, gst.st_ino);
  if (!opts.keep_machine_id) check_machine_id_target(golden);

  // --- Its identity. ------------------------------------------------------
  const FileKey key = file_key(gst);
  const Digest digest = golden_digest(gfd.get(), golden, key, st.root() / "cache", stop, progress);
  res.digest_cached = digest.cached;
  res.digest_cache = digest.cache_path;
  res.hash_ms = digest.hash_ms;
  if (expect && *expect != digest.sha256)
    throw Error(Exit::guest_failed, "golden_changed",
                fmt::format("the golden '{}' has SHA-256 {}, not the expected {}: it changed "
                            "since that digest was taken",
                            g, digest.sha256, *expect));

  // --- The destination. ---------------------------------------------------
  const std::filesystem::path dir = st.vm_dir(rec.id());
  const std::filesystem::path dest = st.rootfs_path(rec.id());
  st.make_vm_dir(rec.id());
  FileLock old_lock;  // held on a rootfs.ext4 being replaced, so no VM starts on it meanwhile
  struct stat dst {};
  const bool exists = ::lstat(dest.c_str(), &dst) == 0;
  if (exists) {
    if (dst.st_dev == gst.st_dev && dst.st_ino == gst.st_ino)
      throw Error(Exit::usage, "golden_is_clone",
                  fmt::format("the golden '{}' is this VM's own clone '{}'", g, dest.string()));
    old_lock = lock_image(dest, ImageAccess::read_only, "to replace");
    if (!opts.force)
      throw Error(Exit::usage, "rootfs_exists",
                  fmt::format("'{}' already exists; pass --force to replace it with a new clone",
                              dest.string()));
  }
  remove_stale_temps_unlocked(dir);

  // A clone tied to no boot cannot be told apart from one a host crash
  // may have cut short: sync it.
  const std::string boot = boot_id();
  const bool sync = opts.sync || boot.empty();

  // --- Copy, grow, machine-id, [sync], rename. ----------------------------
  const auto start = std::chrono::steady_clock::now();
  TempImage tmp(dir);
  bool reflinked = false;
  if (opts.method != CloneMethod::copy) {
    const int err = try_reflink(gfd.get(), tmp.fd());
    if (err == 0) {
      reflinked = true;
    } else if (!reflink_unsupported(err)) {
      const bool full = err == ENOSPC || err == EDQUOT;
      throw sys_error(full ? Exit::exhausted : Exit::failed,
                      fmt::format("reflinking '{}' to '{}'", g, tmp.path().string()), err);
    } else if (opts.method == CloneMethod::reflink) {
      throw Error(Exit::failed, "reflink_unsupported",
                  fmt::format("cannot reflink '{}' ({}) into '{}' ({}): FICLONE says '{}'. "
                              "Reflinks need both files on one filesystem that shares extents "
                              "(XFS with reflink=1, Btrfs); use --method copy or auto",
                              g, fs_type_of(gfd.get()), dir.string(), fs_type_of(tmp.fd()),
                              std::strerror(err)));
    } else {
      res.no_reflink_reason = fmt::format("{} on {}", std::strerror(err), fs_type_of(tmp.fd()));
    }
  }
  if (!reflinked) {
    // Fail early, and clearly, when the data cannot fit.
    struct statvfs vfs {};
    const auto need = static_cast<std::uint64_t>(gst.st_blocks) * 512;
    if (::fstatvfs(tmp.fd(), &vfs) == 0) {
      const auto avail = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      if (need > avail)
        throw Error(Exit::exhausted, "disk_full",
                    fmt::format("cloning '{}' needs {} bytes in '{}' but only {} are free", g, need,
                                dir.string(), avail));
    }
    const CopyStats cs =
        sparse_copy(gfd.get(), tmp.fd(), golden_size, golden, tmp.path(), stop, sync, progress);
    res.bytes_copied = cs.bytes;
    res.read_write = cs.read_write;
  }
  struct stat after {};
  if (::fstat(gfd.get(), &after) != 0) throw sys_error(fmt::format("stat '{}'", g), errno);
  if (file_key(after) != key)
    throw Error(Exit::failed, "golden_modified",
                fmt::format("the golden '{}' was modified while it was cloned; retry once "
                            "nothing writes to it",
                            g));
  if (opts.size && *opts.size > golden_size) {
    grow_image(tmp.path(), tmp.fd(), *opts.size, stop);
    res.grown = true;
  }
  if (!opts.keep_machine_id) {
    throw_if_stopped(stop, fmt::format("cloning '{}'", g));
    write_machine_id(tmp.path(), derive_machine_id(rec.id()), golden, sync);
  }
  if (sync && ::fsync(tmp.fd()) != 0) {
    const int err = errno;
    throw sys_error(err == ENOSPC || err == EDQUOT ? Exit::exhausted : Exit::failed,
                    fmt::format("syncing '{}'", tmp.path().string()), err);
  }
  throw_if_stopped(stop, fmt::format("cloning '{}'", g));
  commit(tmp, dest, exists, sync);
  res.elapsed_ms = ms_since(start);
  res.used = reflinked ? CloneMethod::reflink : CloneMethod::copy;
  res.path = dest;
  res.synced = sync;

  Json section = {
      {"path", dest.string()},
      {"golden", g},
      {"golden_sha256", digest.sha256},
      {"golden_uuid", sb.uuid_string()},
      {"golden_size", golden_size},
      {"golden_mtime", to_rfc3339(SysTime(std::chrono::duration_cast<SysTime::duration>(
                           std::chrono::seconds(gst.st_mtim.tv_sec))))},
      {"method", std::string(method_name(res.used))},
      {"bytes_copied", res.bytes_copied},
      {"elapsed_ms", res.elapsed_ms},
  };
  if (res.grown) section["size"] = *opts.size;
  section["boot_id"] = boot;
  section["synced"] = sync;
  rec.put("rootfs", std::move(section));
  return res;
}

}  // namespace vmu
