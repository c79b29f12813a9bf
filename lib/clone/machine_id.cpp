#include "clone/machine_id.hpp"

#include <ext2fs/ext2fs.h>
extern "C" {  // com_err.h has no C++ guard
#include <et/com_err.h>
}

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include <fmt/format.h>

#include "clone/identity.hpp"
#include "clone/plain_io.hpp"
#include "image/check.hpp"
#include "util/error.hpp"

namespace vmu {

namespace {

constexpr const char* kPath = "/etc/machine-id";

void init_error_table() {
  init_libext2fs();
}

bool is_space_error(errcode_t rc) {
  return rc == EXT2_ET_BLOCK_ALLOC_FAIL || rc == EXT2_ET_INODE_ALLOC_FAIL ||
         rc == EXT2_ET_DIR_NO_SPACE;
}

// The host's filesystem full (a write into a hole of the sparse image).
bool is_host_space_error(errcode_t rc) {
  return rc == ENOSPC || rc == EDQUOT;
}

[[noreturn]] void fail(errcode_t rc, std::string_view doing, const std::filesystem::path& image) {
  const bool image_full = is_space_error(rc), disk_full = is_host_space_error(rc);
  throw Error(image_full || disk_full ? Exit::exhausted : Exit::failed,
              image_full  ? "image_full"
              : disk_full ? "disk_full"
                          : "ext2fs",
              fmt::format("{} in '{}': {}", doing, image.string(), error_message(rc)));
}

// An open filesystem, closed (and, if writable, written back) once.
//
// `sync` false (a clone that need not survive a host crash): opened through
// plain_io_manager, which never fsyncs. libext2fs's unix_io would fsync the
// whole image when opening it and again in each flush (in a fresh clone: all
// of its data, the bulk of rootfs-clone's time); plain_io has no cache, so
// every write is a pwrite whose errors reach the caller, and nothing is left
// to write at close. Read-only opens take it too (an fsync of the golden
// serves nothing). `sync` true and writable: unix_io, fsyncs as usual.
class Fs {
 public:
  Fs(const std::filesystem::path& image, bool rw, bool sync = true) : image_(image) {
    init_error_table();
    const int flags = EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW : 0);
    // io_options "" (none): ext2fs_open2 then takes no '?' in the path for
    // the start of options.
    errcode_t rc = !rw || !sync
                       ? ext2fs_open2(image.c_str(), "", flags, 0, 0, plain_io_manager(), &fs_)
                       : ext2fs_open(image.c_str(), flags, 0, 0, unix_io_manager, &fs_);
    if (rc) {
      fs_ = nullptr;
      fail(rc, "opening the filesystem", image);
    }
    try {
      check_group_descriptors(fs_, image, ImageRole::golden);
    } catch (...) {
      ext2fs_free(fs_);  // nothing written: nothing to write back
      fs_ = nullptr;
      throw;
    }
    if (rw && (rc = ext2fs_read_bitmaps(fs_))) fail(rc, "reading the bitmaps", image);
  }
  Fs(const Fs&) = delete;
  Fs& operator=(const Fs&) = delete;
  ~Fs() {
    if (fs_) ext2fs_close_free(&fs_);
  }
  ext2_filsys get() const { return fs_; }
  // Writes everything back (and syncs, unless opened with sync false);
  // errors are reported, unlike in the destructor.
  void close() {
    errcode_t rc = ext2fs_close_free(&fs_);
    fs_ = nullptr;
    if (rc) fail(rc, "writing the filesystem back", image_);
  }

 private:
  const std::filesystem::path& image_;
  ext2_filsys fs_ = nullptr;
};

// Gives an inode an empty extent tree (when the filesystem has extents),
// so file writes never take the inline-data path that libext2fs 1.47.0
// gets wrong (see LIBEXT2FS notes: "Inline data bug").
void make_extent_mapped(ext2_filsys fs, ext2_ino_t ino, ext2_inode& inode,
                        const std::filesystem::path& image) {
  inode.i_flags &= ~(EXT4_INLINE_DATA_FL | EXT4_EXTENTS_FL);
  std::memset(inode.i_block, 0, sizeof inode.i_block);
  if (ext2fs_has_feature_extents(fs->super)) {
    ext2_extent_handle_t h = nullptr;
    if (errcode_t rc = ext2fs_extent_open2(fs, ino, &inode, &h))
      fail(rc, "creating an extent tree for /etc/machine-id", image);
    ext2fs_extent_free(h);
  }
}

void write_contents(ext2_filsys fs, ext2_ino_t ino, std::string_view data,
                    const std::filesystem::path& image) {
  ext2_file_t f = nullptr;
  if (errcode_t rc = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f))
    fail(rc, "opening /etc/machine-id", image);
  errcode_t rc = ext2fs_file_set_size2(f, 0);
  unsigned int written = 0;
  if (!rc) rc = ext2fs_file_write(f, data.data(), static_cast<unsigned int>(data.size()), &written);
  if (!rc && written != data.size()) rc = EXT2_ET_SHORT_WRITE;
  errcode_t rc_close = ext2fs_file_close(f);
  if (rc) fail(rc, "writing /etc/machine-id", image);
  if (rc_close) fail(rc_close, "writing /etc/machine-id", image);
}

void touch(ext2_filsys fs, ext2_ino_t ino, const std::filesystem::path& image) {
  ext2_inode inode{};  // re-read: the file calls rewrote size, blocks, extent root
  if (errcode_t rc = ext2fs_read_inode(fs, ino, &inode)) fail(rc, "reading an inode", image);
  const auto now = static_cast<__u32>(std::time(nullptr));
  inode.i_mtime = inode.i_ctime = now;
  if (errcode_t rc = ext2fs_write_inode(fs, ino, &inode)) fail(rc, "writing an inode", image);
}

}  // namespace

std::string derive_machine_id(std::string_view vm_id) {
  return sha256_hex(fmt::format("vmutils-machine-id:{}", vm_id)).substr(0, 32);
}

namespace {

// Where /etc/machine-id is: `etc` always, `ino` 0 when the file is missing.
// Throws Exit::usage (naming `shown_as`) when it cannot take a machine-id.
struct Target {
  ext2_ino_t etc = 0, ino = 0;
};

Target locate(ext2_filsys fs, const std::filesystem::path& image,
              const std::filesystem::path& shown_as) {
  Target t;
  errcode_t rc = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "/etc", &t.etc);
  if (rc == EXT2_ET_FILE_NOT_FOUND || (rc == 0 && ext2fs_check_directory(fs, t.etc) != 0))
    throw Error(Exit::usage, "no_etc",
                fmt::format("'{}' has no /etc folder, so it cannot take a machine-id; is it a "
                            "root filesystem? (--keep-machine-id leaves the image as it is)",
                            shown_as.string()));
  if (rc) fail(rc, "looking up /etc", image);
  rc = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, kPath, &t.ino);
  if (rc == 0) {
    ext2_inode inode{};
    if ((rc = ext2fs_read_inode(fs, t.ino, &inode))) fail(rc, "reading /etc/machine-id", image);
    if (!LINUX_S_ISREG(inode.i_mode))
      throw Error(Exit::usage, "bad_machine_id",
                  fmt::format("/etc/machine-id in '{}' is not a regular file; fix the golden or "
                              "pass --keep-machine-id",
                              shown_as.string()));
    return t;
  }
  if (rc != EXT2_ET_FILE_NOT_FOUND) fail(rc, "looking up /etc/machine-id", image);
  t.ino = 0;
  ext2_ino_t link = 0;
  if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, kPath, &link) == 0)
    throw Error(Exit::usage, "bad_machine_id",
                fmt::format("/etc/machine-id in '{}' is a symlink to a file that does not "
                            "exist; fix the golden or pass --keep-machine-id",
                            shown_as.string()));
  return t;
}

}  // namespace

void check_machine_id_target(const std::filesystem::path& image) {
  Fs fsh(image, false);
  locate(fsh.get(), image, image);
}

void write_machine_id(const std::filesystem::path& image, std::string_view machine_id,
                      const std::filesystem::path& shown_as, bool sync) {
  const std::string data = fmt::format("{}\n", machine_id);
  Fs fsh(image, true, sync);
  ext2_filsys fs = fsh.get();
  const Target t = locate(fs, image, shown_as.empty() ? image : shown_as);
  ext2_ino_t ino = t.ino;
  errcode_t rc = 0;
  if (ino) {
    // Rewrite in place: mode, owner and the inode number stay.
    ext2_inode inode{};
    if ((rc = ext2fs_read_inode(fs, ino, &inode))) fail(rc, "reading /etc/machine-id", image);
    if (inode.i_flags & EXT4_INLINE_DATA_FL) {
      if ((rc = ext2fs_punch(fs, ino, &inode, nullptr, 0, ~0ULL)))
        fail(rc, "emptying /etc/machine-id", image);
      if ((rc = ext2fs_read_inode(fs, ino, &inode))) fail(rc, "reading /etc/machine-id", image);
      make_extent_mapped(fs, ino, inode, image);
      ext2fs_inode_size_set(fs, &inode, 0);
      if ((rc = ext2fs_write_inode(fs, ino, &inode))) fail(rc, "writing /etc/machine-id", image);
    }
  } else {
    // Create it: 0444 root:root, extent-mapped.
    if ((rc = ext2fs_new_inode(fs, t.etc, LINUX_S_IFREG | 0444, nullptr, &ino)))
      fail(rc, "allocating an inode for /etc/machine-id", image);
    rc = ext2fs_link(fs, t.etc, "machine-id", ino, EXT2_FT_REG_FILE);
    if (rc == EXT2_ET_DIR_NO_SPACE) {
      if ((rc = ext2fs_expand_dir(fs, t.etc))) fail(rc, "growing /etc", image);
      rc = ext2fs_link(fs, t.etc, "machine-id", ino, EXT2_FT_REG_FILE);
    }
    if (rc) fail(rc, "linking /etc/machine-id", image);
    ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
    ext2_inode inode{};
    inode.i_mode = LINUX_S_IFREG | 0444;
    inode.i_links_count = 1;
    make_extent_mapped(fs, ino, inode, image);
    if ((rc = ext2fs_inode_size_set(fs, &inode, 0))) fail(rc, "creating /etc/machine-id", image);
    if ((rc = ext2fs_write_new_inode(fs, ino, &inode)))
      fail(rc, "writing the inode of /etc/machine-id", image);
  }
  write_contents(fs, ino, data, image);
  touch(fs, ino, image);
  fsh.close();
}

std::string read_machine_id(const std::filesystem::path& image) {
  Fs fsh(image, false);
  ext2_filsys fs = fsh.get();
  ext2_ino_t ino = 0;
  errcode_t rc = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, kPath, &ino);
  if (rc == EXT2_ET_FILE_NOT_FOUND) return "";
  if (rc) fail(rc, "looking up /etc/machine-id", image);
  ext2_file_t f = nullptr;
  if ((rc = ext2fs_file_open(fs, ino, 0, &f))) fail(rc, "opening /etc/machine-id", image);
  char buf[256];
  unsigned int got = 0;
  rc = ext2fs_file_read(f, buf, sizeof buf, &got);
  ext2fs_file_close(f);
  if (rc) fail(rc, "reading /etc/machine-id", image);
  return std::string(buf, got);
}

}  // namespace vmu
