// Internal to lib/ext4/image*.cpp: Image::Impl, the libext2fs handle and the
// operations the Image methods share. The Image methods are split along the
// seams of the class: image.cpp (open, the one image check, close, space),
// image_paths.cpp (paths resolved inside the image: walk, lookup, symlinks,
// stat), image_read.cpp (read side: files, folders, streams) and
// image_write.cpp (write side: folders, files, symlinks, attributes). Not
// part of the library's interface: include ext4/image.hpp.
#pragma once

// com_err.h has no C++ guard of its own.
extern "C" {
#include <et/com_err.h>
}
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ext4/image.hpp"
#include "util/error.hpp"

namespace vmu::ext4 {

inline std::string libext2fs_message(errcode_t rc) {
  return error_message(rc);
}

inline bool is_exhaustion(errcode_t rc) {
  return rc == EXT2_ET_BLOCK_ALLOC_FAIL || rc == EXT2_ET_INODE_ALLOC_FAIL ||
         rc == EXT2_ET_DIR_NO_SPACE_FOR_CSUM || rc == EXT2_ET_EA_NO_SPACE;
}

inline FileType type_of_mode(std::uint32_t mode) {
  if (LINUX_S_ISREG(mode)) return FileType::regular;
  if (LINUX_S_ISDIR(mode)) return FileType::directory;
  if (LINUX_S_ISLNK(mode)) return FileType::symlink;
  if (LINUX_S_ISCHR(mode)) return FileType::char_device;
  if (LINUX_S_ISBLK(mode)) return FileType::block_device;
  if (LINUX_S_ISFIFO(mode)) return FileType::fifo;
  if (LINUX_S_ISSOCK(mode)) return FileType::socket;
  return FileType::unknown;
}

inline std::uint32_t uid_of(const ext2_inode& in) {
  return in.i_uid | static_cast<std::uint32_t>(in.osd2.linux2.l_i_uid_high) << 16;
}

inline std::uint32_t gid_of(const ext2_inode& in) {
  return in.i_gid | static_cast<std::uint32_t>(in.osd2.linux2.l_i_gid_high) << 16;
}

struct Image::Impl {
  ext2_filsys fs = nullptr;
  std::filesystem::path path;
  Access access = Access::read_only;

  // The result of walking a path: what it names, or where it would be made.
  struct Walk {
    ext2_ino_t parent = EXT2_ROOT_INO;  // folder holding `name`
    std::string name;                   // last component looked up
    ext2_ino_t ino = 0;                 // what the path names; 0 when missing
    std::vector<std::string> rest;      // components after a missing `name`
  };

  Impl(ext2_filsys f, std::filesystem::path p, Access a) : fs(f), path(std::move(p)), access(a) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (fs) ext2fs_close_free(&fs);
  }

  std::string where(std::string_view doing, std::string_view guest) const {
    return fmt::format("{} '{}' in image '{}'", doing, guest, path.string());
  }

  [[noreturn]] void fail(errcode_t rc, const std::string& doing) const {
    if (is_exhaustion(rc))
      throw Error(Exit::exhausted, "image_full",
                  fmt::format("{}: {} (the image is full)", doing, libext2fs_message(rc)));
    if (rc > 0 && rc < 4096) throw sys_error(doing, static_cast<int>(rc));
    throw Error(Exit::failed, "ext4_error", fmt::format("{}: {}", doing, libext2fs_message(rc)));
  }
  void check(errcode_t rc, const std::string& doing) const {
    if (rc) fail(rc, doing);
  }

  void need_rw() const {
    if (access != Access::read_write)
      throw Error(Exit::failed, "internal", "image opened read-only was asked to write");
  }

  std::uint32_t now() const {
    return static_cast<std::uint32_t>(fs->now ? fs->now : ::time(nullptr));
  }

  ext2_inode read_inode(ext2_ino_t ino) const {
    ext2_inode in{};
    check(ext2fs_read_inode(fs, ino, &in),
          fmt::format("reading inode {} of image '{}'", ino, path.string()));
    return in;
  }
  void write_inode(ext2_ino_t ino, ext2_inode& in) const {
    check(ext2fs_write_inode(fs, ino, &in),
          fmt::format("writing inode {} of image '{}'", ino, path.string()));
  }

  ext2_ino_t lookup(ext2_ino_t dir, const std::string& name, std::string_view guest) const;

  std::string link_target(ext2_ino_t ino, ext2_inode& in, std::string_view guest) const;

  std::string read_contents(ext2_ino_t ino, ext2_inode& in, std::size_t size,
                            std::string_view guest) const;

  // Resolves `guest` inside the image (see image.hpp).
  Walk walk(std::string_view guest, Follow follow) const;

  Stat stat_of(ext2_ino_t ino, std::string_view guest) const;

  // Adds `name` -> `ino` to `dir`, growing the folder when it is full.
  void link_entry(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int type,
                  std::string_view guest);

  void apply_attrs(ext2_ino_t ino, const Attrs& a);

  void set_owner(ext2_ino_t ino, std::uint32_t uid, std::uint32_t gid);

  // Creates one folder `name` in `parent` (0755 root:root).
  ext2_ino_t make_dir(ext2_ino_t parent, const std::string& name, std::string_view guest);

  ext2_ino_t make_dirs(std::string_view guest);

  // The folder that holds the last component of `guest` (created when
  // missing and `create`; else 0 when missing), and that component's name.
  std::pair<ext2_ino_t, std::string> parent_of(std::string_view guest, bool create);

  // Frees an inode's blocks (fast symlinks hold text, not blocks).
  void free_blocks(ext2_ino_t ino, ext2_inode& in, std::string_view guest);

  // Empties a regular file and leaves it extent-mapped (never inline).
  void truncate_for_rewrite(ext2_ino_t ino, std::string_view guest);

  ext2_ino_t create_file(ext2_ino_t parent, const std::string& name, std::string_view guest);

  // Large files on extent filesystems: allocate every block at once
  // (ext2fs_fallocate, initialised extents), then write the data in large
  // physically contiguous runs, bypassing the per-block file I/O path.
  std::uint64_t write_allocated(ext2_ino_t ino, Reader& src, std::uint64_t size,
                                std::string_view guest);

  std::uint64_t write_contents(ext2_ino_t ino, Reader& src, std::string_view guest);

  void unlink_entry(ext2_ino_t parent, const std::string& name, ext2_ino_t ino,
                    std::string_view guest);
};

}  // namespace vmu::ext4
