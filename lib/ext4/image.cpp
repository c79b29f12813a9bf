// libext2fs 1.47.0 call sequences (see docs/architecture.md and the notes on
// the inline-data write bug): new files are always created extent-mapped
// (or block-mapped on ext2); an existing inline-data file is turned into an
// extent-mapped one before it is rewritten, because ext2fs_file_write() on
// an inline inode overruns its buffer in 1.47.0.
#include "ext4/image.hpp"

// com_err.h has no C++ guard of its own.
extern "C" {
#include <et/com_err.h>
}
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "image/check.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace vmu::ext4 {

namespace {

void init_error_table() {
  init_libext2fs();
}

std::string libext2fs_message(errcode_t rc) {
  return error_message(rc);
}

bool is_exhaustion(errcode_t rc) {
  return rc == EXT2_ET_BLOCK_ALLOC_FAIL || rc == EXT2_ET_INODE_ALLOC_FAIL ||
         rc == EXT2_ET_DIR_NO_SPACE_FOR_CSUM || rc == EXT2_ET_EA_NO_SPACE;
}

FileType type_of_mode(std::uint32_t mode) {
  if (LINUX_S_ISREG(mode)) return FileType::regular;
  if (LINUX_S_ISDIR(mode)) return FileType::directory;
  if (LINUX_S_ISLNK(mode)) return FileType::symlink;
  if (LINUX_S_ISCHR(mode)) return FileType::char_device;
  if (LINUX_S_ISBLK(mode)) return FileType::block_device;
  if (LINUX_S_ISFIFO(mode)) return FileType::fifo;
  if (LINUX_S_ISSOCK(mode)) return FileType::socket;
  return FileType::unknown;
}

std::uint32_t uid_of(const ext2_inode& in) {
  return in.i_uid | static_cast<std::uint32_t>(in.osd2.linux2.l_i_uid_high) << 16;
}
std::uint32_t gid_of(const ext2_inode& in) {
  return in.i_gid | static_cast<std::uint32_t>(in.osd2.linux2.l_i_gid_high) << 16;
}

// The primary superblock is 1024 bytes at offset 1024.
bool primary_superblock_zeroed(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_size < 64 * 1024) return false;
  char buf[1024];
  if (::pread(fd.get(), buf, sizeof buf, 1024) != static_cast<ssize_t>(sizeof buf)) return false;
  return std::all_of(buf, buf + sizeof buf, [](char c) { return c == 0; });
}

// A backup superblock that still opens: where e2fsck -b can start a repair.
std::optional<unsigned> intact_backup_superblock(const std::filesystem::path& path) {
  const struct {
    unsigned block;
    unsigned size;
  } candidates[] = {{8193, 1024}, {16384, 2048}, {32768, 4096}};
  for (const auto& c : candidates) {
    ext2_filsys fs = nullptr;
    if (ext2fs_open(path.c_str(), EXT2_FLAG_64BITS, static_cast<int>(c.block), c.size,
                    unix_io_manager, &fs) == 0) {
      ext2fs_free(fs);
      return c.block;
    }
  }
  return std::nullopt;
}

[[noreturn]] void throw_open_failure(const std::filesystem::path& path, errcode_t rc) {
  const std::string where = fmt::format("opening image '{}'", path.string());
  if (rc == ENOENT) throw sys_error(Exit::usage, where, ENOENT);
  if (rc > 0 && rc < 4096) throw sys_error(Exit::failed, where, static_cast<int>(rc));
  const std::string why = libext2fs_message(rc);
  if (rc == EXT2_ET_BAD_MAGIC || rc == EXT2_ET_SHORT_READ || rc == EXT2_ET_UNEXPECTED_BLOCK_SIZE) {
    if (auto backup = intact_backup_superblock(path))
      throw Error(Exit::failed, "corrupted",
                  fmt::format("{}: {}: the primary superblock is damaged but the backup at block "
                              "{} is intact; repair with `e2fsck -fy -b {} {}`",
                              where, why, *backup, *backup, path.string()));
    if (primary_superblock_zeroed(path))
      throw Error(Exit::failed, "corrupted",
                  fmt::format("{}: {}: the superblock is zeroed, the image is damaged "
                              "(`e2fsck -fy` may repair it from a backup superblock)",
                              where, why));
    throw Error(Exit::usage, "not_ext4",
                fmt::format("{}: {}: not an ext2/ext3/ext4 filesystem image", where, why));
  }
  if (rc == EXT2_ET_UNSUPP_FEATURE || rc == EXT2_ET_RO_UNSUPP_FEATURE)
    throw Error(Exit::failed, "unsupported_feature",
                fmt::format("{}: {} (this libext2fs cannot edit it)", where, why));
  throw Error(Exit::failed, "corrupted",
              fmt::format("{}: {}; check it with `e2fsck -fn {}`", where, why, path.string()));
}

}  // namespace

std::string_view type_word(FileType type) {
  switch (type) {
    case FileType::regular:
      return "file";
    case FileType::directory:
      return "directory";
    case FileType::symlink:
      return "symlink";
    case FileType::char_device:
      return "char_device";
    case FileType::block_device:
      return "block_device";
    case FileType::fifo:
      return "fifo";
    case FileType::socket:
      return "socket";
    case FileType::unknown:
      break;
  }
  return "unknown";
}

std::size_t MemoryReader::read(char* buf, std::size_t n) {
  const std::size_t k = std::min(n, data_.size());
  std::memcpy(buf, data_.data(), k);
  data_.remove_prefix(k);
  return k;
}

bool is_mounted(const std::filesystem::path& image) {
  init_error_table();
  int flags = 0;
  if (ext2fs_check_if_mounted(image.c_str(), &flags) != 0) return false;
  return (flags & EXT2_MF_MOUNTED) != 0;
}

std::vector<std::string> split_guest_path(std::string_view guest_path) {
  if (guest_path.empty() || guest_path.front() != '/')
    throw Error(
        Exit::usage, "relative_path",
        fmt::format("guest path '{}' is not absolute (it must start with '/')", guest_path));
  if (guest_path.find('\0') != std::string_view::npos)
    throw Error(Exit::usage, "bad_path", "a guest path contains a NUL byte");
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < guest_path.size()) {
    while (i < guest_path.size() && guest_path[i] == '/') ++i;
    std::size_t j = guest_path.find('/', i);
    if (j == std::string_view::npos) j = guest_path.size();
    if (j > i) {
      if (j - i > EXT2_NAME_LEN)
        throw Error(Exit::usage, "bad_path",
                    fmt::format("guest path '{}': a component is longer than {} bytes", guest_path,
                                EXT2_NAME_LEN));
      out.emplace_back(guest_path.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

// --- Impl ------------------------------------------------------------------

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

  ext2_ino_t lookup(ext2_ino_t dir, const std::string& name, std::string_view guest) const {
    ext2_ino_t ino = 0;
    errcode_t rc =
        ext2fs_lookup(fs, dir, name.c_str(), static_cast<int>(name.size()), nullptr, &ino);
    if (rc == EXT2_ET_FILE_NOT_FOUND) return 0;
    check(rc, where("looking up", guest));
    return ino;
  }

  std::string link_target(ext2_ino_t ino, ext2_inode& in, std::string_view guest) const {
    const std::size_t size = EXT2_I_SIZE(&in);
    if (in.i_flags & EXT4_INLINE_DATA_FL) {
      std::size_t n = 0;
      check(ext2fs_inline_data_size(fs, ino, &n), where("reading the symlink", guest));
      std::string buf(std::max(n, size), '\0');
      check(ext2fs_inline_data_get(fs, ino, &in, buf.data(), &n),
            where("reading the symlink", guest));
      buf.resize(std::min(n, size));
      return buf;
    }
    if (ext2fs_is_fast_symlink(&in)) {
      const char* p = reinterpret_cast<const char*>(in.i_block);
      return std::string(p, ::strnlen(p, std::min(size, sizeof in.i_block)));
    }
    if (size >= fs->blocksize)
      throw Error(Exit::failed, "corrupted", where("symlink too long at", guest));
    return read_contents(ino, in, size, guest);
  }

  std::string read_contents(ext2_ino_t ino, ext2_inode& in, std::size_t size,
                            std::string_view guest) const {
    std::string out(size, '\0');
    if (in.i_flags & EXT4_INLINE_DATA_FL) {
      std::size_t n = 0;
      check(ext2fs_inline_data_size(fs, ino, &n), where("reading", guest));
      std::string buf(std::max(n, size), '\0');
      check(ext2fs_inline_data_get(fs, ino, &in, buf.data(), &n), where("reading", guest));
      buf.resize(std::min(n, size));
      return buf;
    }
    ext2_file_t f = nullptr;
    check(ext2fs_file_open2(fs, ino, &in, 0, &f), where("opening", guest));
    std::size_t got_total = 0;
    errcode_t rc = 0;
    while (got_total < size) {
      unsigned int got = 0;
      const auto want =
          static_cast<unsigned int>(std::min<std::size_t>(size - got_total, 1u << 20));
      rc = ext2fs_file_read(f, out.data() + got_total, want, &got);
      if (rc || got == 0) break;
      got_total += got;
    }
    ext2fs_file_close(f);
    check(rc, where("reading", guest));
    out.resize(got_total);
    return out;
  }

  // Resolves `guest` inside the image (see image.hpp).
  Walk walk(std::string_view guest, Follow follow) const {
    auto parts = split_guest_path(guest);
    std::deque<std::string> comps(parts.begin(), parts.end());
    ext2_ino_t cur = EXT2_ROOT_INO;
    int links = 0;
    while (!comps.empty()) {
      std::string name = std::move(comps.front());
      comps.pop_front();
      if (name == ".") {
        if (comps.empty()) return Walk{cur, ".", cur, {}};
        continue;
      }
      const ext2_ino_t ino = lookup(cur, name, guest);
      if (ino == 0) return Walk{cur, name, 0, {comps.begin(), comps.end()}};
      ext2_inode in = read_inode(ino);
      if (LINUX_S_ISLNK(in.i_mode) && (!comps.empty() || follow == Follow::yes)) {
        if (++links > kMaxSymlinks)
          throw Error(Exit::guest_failed, "symlink_loop",
                      fmt::format("resolving '{}' in image '{}': more than {} symlinks on the "
                                  "way (a symlink loop in the image)",
                                  guest, path.string(), kMaxSymlinks));
        const std::string target = link_target(ino, in, guest);
        if (target.empty())
          throw Error(Exit::guest_failed, "bad_symlink",
                      fmt::format("resolving '{}' in image '{}': an empty symlink on the way",
                                  guest, path.string()));
        std::vector<std::string> tparts;
        if (target.front() == '/') {
          tparts = split_guest_path(target);
          cur = EXT2_ROOT_INO;  // absolute targets start at the image's root
        } else {
          tparts = split_guest_path("/" + target);
        }
        comps.insert(comps.begin(), tparts.begin(), tparts.end());
        if (comps.empty()) return Walk{cur, ".", cur, {}};
        continue;
      }
      if (comps.empty()) return Walk{cur, name, ino, {}};
      if (!LINUX_S_ISDIR(in.i_mode))
        throw Error(Exit::usage, "not_a_directory",
                    fmt::format("resolving '{}' in image '{}': '{}' on the way is a {}, not a "
                                "folder",
                                guest, path.string(), name, type_word(type_of_mode(in.i_mode))));
      cur = ino;
    }
    return Walk{EXT2_ROOT_INO, "", EXT2_ROOT_INO, {}};
  }

  Stat stat_of(ext2_ino_t ino, std::string_view guest) const {
    ext2_inode in = read_inode(ino);
    Stat s;
    s.inode = ino;
    s.type = type_of_mode(in.i_mode);
    s.mode = in.i_mode & 07777;
    s.uid = uid_of(in);
    s.gid = gid_of(in);
    s.size = EXT2_I_SIZE(&in);
    s.mtime = in.i_mtime;
    s.links = in.i_links_count;
    if (s.type == FileType::symlink) s.symlink_target = link_target(ino, in, guest);
    return s;
  }

  // Adds `name` -> `ino` to `dir`, growing the folder when it is full.
  void link_entry(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int type,
                  std::string_view guest) {
    errcode_t rc = ext2fs_link(fs, dir, name.c_str(), ino, type);
    if (rc == EXT2_ET_DIR_NO_SPACE) {
      check(ext2fs_expand_dir(fs, dir), where("growing the folder of", guest));
      rc = ext2fs_link(fs, dir, name.c_str(), ino, type);
    }
    check(rc, where("linking", guest));
  }

  void apply_attrs(ext2_ino_t ino, const Attrs& a) {
    ext2_inode in = read_inode(ino);  // re-read: file I/O rewrites the inode
    in.i_mode = static_cast<__u16>((in.i_mode & LINUX_S_IFMT) | (a.mode & 07777));
    in.i_uid = static_cast<__u16>(a.uid & 0xffff);
    in.osd2.linux2.l_i_uid_high = static_cast<__u16>(a.uid >> 16);
    in.i_gid = static_cast<__u16>(a.gid & 0xffff);
    in.osd2.linux2.l_i_gid_high = static_cast<__u16>(a.gid >> 16);
    in.i_atime = in.i_mtime = in.i_ctime = now();
    write_inode(ino, in);
  }

  void set_owner(ext2_ino_t ino, std::uint32_t uid, std::uint32_t gid) {
    ext2_inode in = read_inode(ino);
    apply_attrs(ino, Attrs{in.i_mode & 07777u, uid, gid});
  }

  // Creates one folder `name` in `parent` (0755 root:root).
  ext2_ino_t make_dir(ext2_ino_t parent, const std::string& name, std::string_view guest) {
    if (name.size() > EXT2_NAME_LEN)
      throw Error(Exit::usage, "bad_path", where("a name is too long creating", guest));
    errcode_t rc = ext2fs_mkdir(fs, parent, 0, name.c_str());
    if (rc == EXT2_ET_DIR_NO_SPACE) {
      check(ext2fs_expand_dir(fs, parent), where("growing the folder of", guest));
      rc = ext2fs_mkdir(fs, parent, 0, name.c_str());
    }
    check(rc, where("creating the folder", guest));
    const ext2_ino_t ino = lookup(parent, name, guest);
    if (!ino) throw Error(Exit::failed, "ext4_error", where("lost the new folder", guest));
    return ino;
  }

  ext2_ino_t make_dirs(std::string_view guest) {
    // Each round creates one missing folder and walks again, so symlinks on
    // the way (even dangling ones) are resolved the same way every time.
    for (int round = 0; round < 4096; ++round) {
      Walk w = walk(guest, Follow::yes);
      if (w.ino) {
        ext2_inode in = read_inode(w.ino);
        if (!LINUX_S_ISDIR(in.i_mode))
          throw Error(Exit::usage, "not_a_directory",
                      fmt::format("creating the folder '{}' in image '{}': it exists as a {}",
                                  guest, path.string(), type_word(type_of_mode(in.i_mode))));
        return w.ino;
      }
      make_dir(w.parent, w.name, guest);
    }
    throw Error(Exit::failed, "internal", where("too many folders creating", guest));
  }

  // The folder that holds the last component of `guest` (created when
  // missing and `create`; else 0 when missing), and that component's name.
  std::pair<ext2_ino_t, std::string> parent_of(std::string_view guest, bool create) {
    auto parts = split_guest_path(guest);
    if (parts.empty() || parts.back() == "." || parts.back() == "..")
      throw Error(Exit::usage, "bad_path",
                  fmt::format("guest path '{}' does not name an entry", guest));
    std::string name = parts.back();
    std::string parent = "/";
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) parent += parts[i] + "/";
    if (create) return {make_dirs(parent), name};
    Walk w = walk(parent, Follow::yes);
    if (w.ino && !LINUX_S_ISDIR(read_inode(w.ino).i_mode))
      throw Error(Exit::usage, "not_a_directory",
                  fmt::format("resolving '{}' in image '{}': its parent is not a folder", guest,
                              path.string()));
    return {w.ino, name};
  }

  // Frees an inode's blocks (fast symlinks hold text, not blocks).
  void free_blocks(ext2_ino_t ino, ext2_inode& in, std::string_view guest) {
    if ((in.i_flags & EXT4_INLINE_DATA_FL) || ext2fs_inode_has_valid_blocks2(fs, &in))
      check(ext2fs_punch(fs, ino, &in, nullptr, 0, ~0ULL), where("freeing the blocks of", guest));
  }

  // Empties a regular file and leaves it extent-mapped (never inline).
  void truncate_for_rewrite(ext2_ino_t ino, std::string_view guest) {
    ext2_inode in = read_inode(ino);
    free_blocks(ino, in, guest);
    in = read_inode(ino);
    if (in.i_flags & EXT4_INLINE_DATA_FL) {
      in.i_flags &= ~EXT4_INLINE_DATA_FL;
      std::memset(in.i_block, 0, sizeof in.i_block);
    }
    in.i_size = 0;
    in.i_size_high = 0;
    if (ext2fs_has_feature_extents(fs->super) && !(in.i_flags & EXT4_EXTENTS_FL)) {
      std::memset(in.i_block, 0, sizeof in.i_block);
      ext2_extent_handle_t h = nullptr;
      check(ext2fs_extent_open2(fs, ino, &in, &h), where("preparing", guest));
      ext2fs_extent_free(h);
    }
    write_inode(ino, in);
  }

  ext2_ino_t create_file(ext2_ino_t parent, const std::string& name, std::string_view guest) {
    ext2_ino_t ino = 0;
    check(ext2fs_new_inode(fs, parent, LINUX_S_IFREG | 0644, nullptr, &ino),
          where("allocating an inode for", guest));
    link_entry(parent, name, ino, EXT2_FT_REG_FILE, guest);
    ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
    ext2_inode in{};
    in.i_mode = LINUX_S_IFREG | 0644;
    in.i_links_count = 1;
    if (ext2fs_has_feature_extents(fs->super)) {
      ext2_extent_handle_t h = nullptr;
      check(ext2fs_extent_open2(fs, ino, &in, &h), where("preparing", guest));
      ext2fs_extent_free(h);
    }
    check(ext2fs_write_new_inode(fs, ino, &in), where("writing the inode of", guest));
    return ino;
  }

  // Large files on extent filesystems: allocate every block at once
  // (ext2fs_fallocate, initialised extents), then write the data in large
  // physically contiguous runs, bypassing the per-block file I/O path.
  std::uint64_t write_allocated(ext2_ino_t ino, Reader& src, std::uint64_t size,
                                std::string_view guest) {
    const std::uint64_t bs = fs->blocksize;
    const std::uint64_t nblocks = (size + bs - 1) / bs;
    check(ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT | EXT2_FALLOCATE_INIT_BEYOND_EOF, ino,
                           nullptr, ~0ULL, 0, nblocks),
          where("allocating blocks for", guest));
    ext2_inode in = read_inode(ino);
    const std::size_t chunk_blocks = (4u << 20) / bs;
    std::vector<char> buf(chunk_blocks * bs);
    std::uint64_t done = 0;
    for (std::uint64_t lblk = 0; lblk < nblocks;) {
      const std::uint64_t want_blocks = std::min<std::uint64_t>(chunk_blocks, nblocks - lblk);
      const std::uint64_t want = std::min<std::uint64_t>(want_blocks * bs, size - done);
      std::size_t got = 0;
      while (got < want) {
        const std::size_t n = src.read(buf.data() + got, static_cast<std::size_t>(want - got));
        if (n == 0) break;
        got += n;
      }
      if (got < want)
        throw Error(Exit::failed, "source_changed",
                    where("the source shrank while writing", guest));
      std::memset(buf.data() + got, 0, static_cast<std::size_t>(want_blocks * bs - got));
      // Physically contiguous runs of this chunk.
      std::uint64_t i = 0;
      while (i < want_blocks) {
        blk64_t first = 0;
        check(ext2fs_bmap2(fs, ino, &in, nullptr, 0, lblk + i, nullptr, &first),
              where("mapping", guest));
        std::uint64_t run = 1;
        while (i + run < want_blocks) {
          blk64_t next = 0;
          check(ext2fs_bmap2(fs, ino, &in, nullptr, 0, lblk + i + run, nullptr, &next),
                where("mapping", guest));
          if (next != first + run) break;
          ++run;
        }
        if (first == 0) throw Error(Exit::failed, "ext4_error", where("unmapped block in", guest));
        check(io_channel_write_blk64(fs->io, first, static_cast<int>(run), buf.data() + i * bs),
              where("writing", guest));
        i += run;
      }
      lblk += want_blocks;
      done += want;
    }
    in = read_inode(ino);
    check(ext2fs_inode_size_set(fs, &in, size), where("setting the size of", guest));
    write_inode(ino, in);
    return size;
  }

  std::uint64_t write_contents(ext2_ino_t ino, Reader& src, std::string_view guest) {
    if (auto size = src.size();
        size && *size >= (1u << 20) && ext2fs_has_feature_extents(fs->super))
      return write_allocated(ino, src, *size, guest);
    ext2_file_t f = nullptr;
    check(ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f), where("opening", guest));
    std::vector<char> buf(1u << 20);
    std::uint64_t total = 0;
    errcode_t rc = 0;
    try {
      for (;;) {
        const std::size_t n = src.read(buf.data(), buf.size());
        if (n == 0) break;
        std::size_t off = 0;
        while (off < n && !rc) {
          unsigned int wrote = 0;
          rc = ext2fs_file_write(f, buf.data() + off, static_cast<unsigned int>(n - off), &wrote);
          if (!rc && wrote == 0) rc = EXT2_ET_SHORT_WRITE;
          off += wrote;
        }
        total += off;
        if (rc) break;
      }
    } catch (...) {
      ext2fs_file_close(f);
      throw;
    }
    const errcode_t rc_close = ext2fs_file_close(f);
    check(rc ? rc : rc_close, where("writing", guest));
    return total;
  }

  void unlink_entry(ext2_ino_t parent, const std::string& name, ext2_ino_t ino,
                    std::string_view guest) {
    check(ext2fs_unlink(fs, parent, name.c_str(), ino, 0), where("unlinking", guest));
    ext2_inode in = read_inode(ino);
    if (in.i_links_count > 0) --in.i_links_count;
    if (in.i_links_count == 0) {
      free_blocks(ino, in, guest);
      in = read_inode(ino);
      in.i_links_count = 0;
      in.i_dtime = now();
      write_inode(ino, in);
      ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
    } else {
      in.i_ctime = now();
      write_inode(ino, in);
    }
  }
};

// --- Image -----------------------------------------------------------------

Image::Image(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Image::Image(Image&&) noexcept = default;
Image& Image::operator=(Image&&) noexcept = default;
Image::~Image() = default;

Image Image::open(const std::filesystem::path& path, Access access, Dirty dirty) {
  init_error_table();
  require_regular(path, "image");
  const bool rw = access == Access::read_write;
  if (rw && is_mounted(path))
    throw Error(
        Exit::usage, "image_mounted",
        fmt::format("refusing to edit image '{}': it is mounted; unmount it first", path.string()));
  ext2_filsys fs = nullptr;
  const int flags = EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW : 0);
  errcode_t rc = ext2fs_open(path.c_str(), flags, 0, 0, unix_io_manager, &fs);
  if (rc) throw_open_failure(path, rc);
  auto impl = std::make_unique<Impl>(fs, path, access);
  const std::string name = path.string();
  ImageFacts facts;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) facts.file_size = static_cast<std::uint64_t>(st.st_size);
  facts.fs_bytes = ext2fs_blocks_count(fs->super) * fs->blocksize;
  facts.needs_recovery = ext2fs_has_feature_journal_needs_recovery(fs->super);
  facts.has_errors = (fs->super->s_state & EXT2_ERROR_FS) != 0;
  facts.clean = (fs->super->s_state & EXT2_VALID_FS) != 0;
  facts.quota = ext2fs_has_feature_quota(fs->super);
  try {
    check_image_facts(path, facts, rw ? ImageRole::write : ImageRole::read,
                      rw || dirty == Dirty::refuse);
    check_group_descriptors(fs, path, rw ? ImageRole::write : ImageRole::read);
  } catch (...) {
    ext2fs_free(impl->fs);  // nothing was changed: write nothing back
    impl->fs = nullptr;
    throw;
  }
  if (rw) {
    rc = ext2fs_read_bitmaps(fs);
    if (rc) {
      ext2fs_free(impl->fs);
      impl->fs = nullptr;
      throw Error(Exit::failed, "corrupted",
                  fmt::format("reading the bitmaps of image '{}': {}; check it with `e2fsck "
                              "-fn {}`",
                              name, libext2fs_message(rc), name));
    }
  }
  return Image(std::move(impl));
}

const std::filesystem::path& Image::path() const {
  return impl_->path;
}
bool Image::writable() const {
  return impl_->access == Access::read_write;
}
std::uint32_t Image::block_size() const {
  return impl_->fs->blocksize;
}

bool Image::has_feature(std::string_view name) const {
  ext2_super_block* sb = impl_->fs->super;
  if (name == "extent") return ext2fs_has_feature_extents(sb);
  if (name == "inline_data") return ext2fs_has_feature_inline_data(sb);
  if (name == "64bit") return ext2fs_has_feature_64bit(sb);
  if (name == "metadata_csum") return ext2fs_has_feature_metadata_csum(sb);
  if (name == "has_journal") return ext2fs_has_feature_journal(sb);
  if (name == "dir_index") return ext2fs_has_feature_dir_index(sb);
  if (name == "filetype") return ext2fs_has_feature_filetype(sb);
  if (name == "quota") return ext2fs_has_feature_quota(sb);
  if (name == "flex_bg") return ext2fs_has_feature_flex_bg(sb);
  if (name == "huge_file") return ext2fs_has_feature_huge_file(sb);
  return false;
}

Space Image::space() const {
  ext2_filsys fs = impl_->fs;
  Space s;
  s.block_size = fs->blocksize;
  s.blocks_total = ext2fs_blocks_count(fs->super);
  s.inodes_total = fs->super->s_inodes_count;
  // Sum the group descriptors: the superblock's totals may lag behind them.
  for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
    s.blocks_free += ext2fs_bg_free_blocks_count(fs, g);
    s.inodes_free += ext2fs_bg_free_inodes_count(fs, g);
  }
  return s;
}

std::optional<Stat> Image::stat(std::string_view guest_path, Follow follow) const {
  auto w = impl_->walk(guest_path, follow);
  if (!w.ino) return std::nullopt;
  return impl_->stat_of(w.ino, guest_path);
}

Stat Image::stat_inode(std::uint32_t inode) const {
  return impl_->stat_of(inode, fmt::format("inode {}", inode));
}

std::string Image::read_file(std::string_view guest_path, std::size_t limit) const {
  auto w = impl_->walk(guest_path, Follow::yes);
  if (!w.ino)
    throw Error(
        Exit::usage, "not_found",
        fmt::format("reading '{}' in image '{}': no such file", guest_path, impl_->path.string()));
  ext2_inode in = impl_->read_inode(w.ino);
  if (!LINUX_S_ISREG(in.i_mode))
    throw Error(Exit::usage, "not_a_file",
                fmt::format("reading '{}' in image '{}': it is a {}, not a file", guest_path,
                            impl_->path.string(), type_word(type_of_mode(in.i_mode))));
  const std::uint64_t size = EXT2_I_SIZE(&in);
  if (size > limit)
    throw Error(Exit::usage, "too_large",
                fmt::format("reading '{}' in image '{}': {} bytes, more than the limit of {}",
                            guest_path, impl_->path.string(), size, limit));
  return impl_->read_contents(w.ino, in, static_cast<std::size_t>(size), guest_path);
}

std::vector<DirEntry> Image::list(std::string_view guest_path) const {
  auto w = impl_->walk(guest_path, Follow::yes);
  if (!w.ino)
    throw Error(Exit::usage, "not_found",
                fmt::format("listing '{}' in image '{}': no such folder", guest_path,
                            impl_->path.string()));
  ext2_inode in = impl_->read_inode(w.ino);
  if (!LINUX_S_ISDIR(in.i_mode))
    throw Error(Exit::usage, "not_a_directory",
                fmt::format("listing '{}' in image '{}': it is a {}, not a folder", guest_path,
                            impl_->path.string(), type_word(type_of_mode(in.i_mode))));
  struct Ctx {
    std::vector<DirEntry> out;
    std::size_t limit = 1u << 20;
  } ctx;
  auto cb = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* priv) -> int {
    auto* c = static_cast<Ctx*>(priv);
    const int len = ext2fs_dirent_name_len(d);
    std::string name(d->name, static_cast<std::size_t>(len));
    if (name == "." || name == "..") return 0;
    FileType t = FileType::unknown;
    switch (ext2fs_dirent_file_type(d)) {
      case EXT2_FT_REG_FILE:
        t = FileType::regular;
        break;
      case EXT2_FT_DIR:
        t = FileType::directory;
        break;
      case EXT2_FT_SYMLINK:
        t = FileType::symlink;
        break;
      case EXT2_FT_CHRDEV:
        t = FileType::char_device;
        break;
      case EXT2_FT_BLKDEV:
        t = FileType::block_device;
        break;
      case EXT2_FT_FIFO:
        t = FileType::fifo;
        break;
      case EXT2_FT_SOCK:
        t = FileType::socket;
        break;
      default:
        break;
    }
    c->out.push_back(DirEntry{std::move(name), d->inode, t});
    return c->out.size() >= c->limit ? DIRENT_ABORT : 0;
  };
  impl_->check(ext2fs_dir_iterate2(impl_->fs, w.ino, 0, nullptr, cb, &ctx),
               impl_->where("listing", guest_path));
  for (auto& e : ctx.out)
    if (e.type == FileType::unknown) e.type = type_of_mode(impl_->read_inode(e.inode).i_mode);
  std::sort(ctx.out.begin(), ctx.out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return std::move(ctx.out);
}

std::string Image::read_link(std::string_view guest_path) const {
  auto st = stat(guest_path, Follow::no);
  if (!st || st->type != FileType::symlink)
    throw Error(Exit::usage, "not_a_symlink",
                fmt::format("reading the symlink '{}' in image '{}': {}", guest_path,
                            impl_->path.string(), st ? "not a symlink" : "no such entry"));
  return st->symlink_target;
}

namespace {

// Streams a regular file: maps a chunk of logical blocks at a time and reads
// each physically contiguous run with one io_channel read (unix_io reads
// multi-block requests directly, past its small cache).
class InodeReader : public Reader {
 public:
  InodeReader(const Image::Impl& impl, ext2_ino_t ino, const ext2_inode& in, std::string where)
      : impl_(impl), ino_(ino), in_(in), size_(EXT2_I_SIZE(&in)), where_(std::move(where)) {}

  std::optional<std::uint64_t> size() const override { return size_; }

  std::size_t read(char* buf, std::size_t n) override {
    std::size_t out = 0;
    while (out < n) {
      if (pos_ == buf_.size()) {
        if (!fill()) break;
      }
      const std::size_t k = std::min(n - out, buf_.size() - pos_);
      std::memcpy(buf + out, buf_.data() + pos_, k);
      pos_ += k;
      out += k;
    }
    return out;
  }

 private:
  bool fill();

  const Image::Impl& impl_;
  ext2_ino_t ino_;
  ext2_inode in_;
  std::uint64_t size_;
  std::string where_;
  std::uint64_t done_ = 0;  // bytes of the file already in buf_ (or served)
  std::uint64_t chunk_bytes_ = 64u << 10;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
};

}  // namespace

bool InodeReader::fill() {
  if (done_ >= size_) return false;
  ext2_filsys fs = impl_.fs;
  const std::uint64_t bs = fs->blocksize;
  if (in_.i_flags & EXT4_INLINE_DATA_FL) {
    const std::string data =
        impl_.read_contents(ino_, in_, static_cast<std::size_t>(size_), where_);
    buf_.assign(data.begin(), data.end());
    pos_ = 0;
    done_ = size_;
    return !buf_.empty();
  }
  // Chunks grow from 64 KiB to 4 MiB: a reader that stops early (a header,
  // a compare that finds a difference) reads little.
  const std::uint64_t chunk_blocks = std::max<std::uint64_t>(1, chunk_bytes_ / bs);
  chunk_bytes_ = std::min<std::uint64_t>(chunk_bytes_ * 4, 4u << 20);
  const std::uint64_t lblk0 = done_ / bs;
  const std::uint64_t left = size_ - done_;
  const std::uint64_t nblocks = std::min<std::uint64_t>(chunk_blocks, (left + bs - 1) / bs);
  buf_.assign(static_cast<std::size_t>(nblocks * bs), '\0');
  std::uint64_t i = 0;
  while (i < nblocks) {
    blk64_t first = 0;
    int flags = 0;
    impl_.check(ext2fs_bmap2(fs, ino_, &in_, nullptr, 0, lblk0 + i, &flags, &first),
                fmt::format("mapping {}", where_));
    std::uint64_t run = 1;
    if (first != 0 && !(flags & BMAP_RET_UNINIT)) {
      while (i + run < nblocks) {
        blk64_t next = 0;
        int nflags = 0;
        impl_.check(ext2fs_bmap2(fs, ino_, &in_, nullptr, 0, lblk0 + i + run, &nflags, &next),
                    fmt::format("mapping {}", where_));
        if (next != first + run || (nflags & BMAP_RET_UNINIT)) break;
        ++run;
      }
      impl_.check(io_channel_read_blk64(fs->io, first, static_cast<int>(run), buf_.data() + i * bs),
                  fmt::format("reading {}", where_));
    }  // else a hole or an unwritten extent: zeros
    i += run;
  }
  const std::uint64_t got = std::min<std::uint64_t>(nblocks * bs, left);
  buf_.resize(static_cast<std::size_t>(got));
  pos_ = 0;
  done_ += got;
  return got > 0;
}

std::unique_ptr<Reader> Image::open_reader(std::uint32_t inode) const {
  const std::string where = fmt::format("inode {} of image '{}'", inode, impl_->path.string());
  ext2_inode in = impl_->read_inode(inode);
  if (!LINUX_S_ISREG(in.i_mode))
    throw Error(Exit::usage, "not_a_file",
                fmt::format("reading {}: it is a {}, not a file", where,
                            type_word(type_of_mode(in.i_mode))));
  return std::make_unique<InodeReader>(*impl_, inode, in, where);
}

std::string Image::read_head(std::uint32_t inode, std::size_t n) const {
  auto r = open_reader(inode);
  std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(n, *r->size())), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const std::size_t k = r->read(out.data() + got, out.size() - got);
    if (k == 0) break;
    got += k;
  }
  out.resize(got);
  return out;
}

Resolution Image::resolve_for_create(std::string_view guest_path) const {
  Resolution r;
  auto w = impl_->walk(guest_path, Follow::no);
  if (w.ino) {
    r.existing = impl_->stat_of(w.ino, guest_path);
  } else {
    r.missing_dirs = w.rest.size();  // `name` and `rest`, less the entry itself
  }
  return r;
}

void Image::make_dirs(std::string_view guest_path, const std::optional<Attrs>& attrs) {
  impl_->need_rw();
  const ext2_ino_t ino = impl_->make_dirs(guest_path);
  if (attrs) impl_->apply_attrs(ino, *attrs);
}

std::uint64_t Image::write_file(std::string_view guest_path, Reader& contents, const Attrs& attrs) {
  impl_->need_rw();
  impl_->parent_of(guest_path, true);  // mkdir -p of the parent
  auto w = impl_->walk(guest_path, Follow::yes);
  ext2_ino_t ino = w.ino;
  if (ino) {
    ext2_inode in = impl_->read_inode(ino);
    if (!LINUX_S_ISREG(in.i_mode))
      throw Error(
          Exit::usage, "exists",
          fmt::format("writing '{}' in image '{}': it exists as a {}; refusing to "
                      "replace it with a file",
                      guest_path, impl_->path.string(), type_word(type_of_mode(in.i_mode))));
    impl_->truncate_for_rewrite(ino, guest_path);
  } else {
    if (!w.rest.empty())
      throw Error(Exit::usage, "dangling_symlink",
                  fmt::format("writing '{}' in image '{}': it is a symlink into a missing "
                              "folder",
                              guest_path, impl_->path.string()));
    ino = impl_->create_file(w.parent, w.name, guest_path);
  }
  const std::uint64_t n = impl_->write_contents(ino, contents, guest_path);
  impl_->apply_attrs(ino, attrs);
  return n;
}

void Image::symlink(std::string_view target, std::string_view guest_path, std::uint32_t uid,
                    std::uint32_t gid) {
  impl_->need_rw();
  if (target.empty() || target.size() >= impl_->fs->blocksize ||
      target.find('\0') != std::string_view::npos)
    throw Error(Exit::usage, "bad_symlink",
                fmt::format("creating the symlink '{}' in image '{}': its target must be 1 to {} "
                            "bytes without NUL",
                            guest_path, impl_->path.string(), impl_->fs->blocksize - 1));
  auto [parent, name] = impl_->parent_of(guest_path, true);
  if (const ext2_ino_t old = impl_->lookup(parent, name, guest_path)) {
    ext2_inode in = impl_->read_inode(old);
    if (!LINUX_S_ISLNK(in.i_mode))
      throw Error(
          Exit::usage, "exists",
          fmt::format("creating the symlink '{}' in image '{}': it exists as a {}; "
                      "refusing to replace it",
                      guest_path, impl_->path.string(), type_word(type_of_mode(in.i_mode))));
    if (impl_->link_target(old, in, guest_path) == target) {
      impl_->set_owner(old, uid, gid);
      return;
    }
    impl_->unlink_entry(parent, name, old, guest_path);
  }
  std::string t(target);
  errcode_t rc = ext2fs_symlink(impl_->fs, parent, 0, name.c_str(), t.data());
  if (rc == EXT2_ET_DIR_NO_SPACE) {
    impl_->check(ext2fs_expand_dir(impl_->fs, parent),
                 impl_->where("growing the folder of", guest_path));
    rc = ext2fs_symlink(impl_->fs, parent, 0, name.c_str(), t.data());
  }
  impl_->check(rc, impl_->where("creating the symlink", guest_path));
  const ext2_ino_t ino = impl_->lookup(parent, name, guest_path);
  if (!ino) throw Error(Exit::failed, "ext4_error", impl_->where("lost the symlink", guest_path));
  impl_->apply_attrs(ino, Attrs{0777, uid, gid});
}

void Image::set_attrs(std::string_view guest_path, const Attrs& attrs, Follow follow) {
  impl_->need_rw();
  auto w = impl_->walk(guest_path, follow);
  if (!w.ino)
    throw Error(Exit::usage, "not_found",
                fmt::format("changing '{}' in image '{}': no such entry", guest_path,
                            impl_->path.string()));
  impl_->apply_attrs(w.ino, attrs);
}

bool Image::remove(std::string_view guest_path) {
  impl_->need_rw();
  auto [parent, name] = impl_->parent_of(guest_path, false);
  if (!parent) return false;
  const ext2_ino_t ino = impl_->lookup(parent, name, guest_path);
  if (!ino) return false;
  ext2_inode in = impl_->read_inode(ino);
  if (LINUX_S_ISDIR(in.i_mode))
    throw Error(Exit::usage, "is_a_directory",
                fmt::format("removing '{}' in image '{}': it is a folder", guest_path,
                            impl_->path.string()));
  impl_->unlink_entry(parent, name, ino, guest_path);
  return true;
}

void Image::close() {
  if (!impl_ || !impl_->fs) return;
  errcode_t rc = ext2fs_close_free(&impl_->fs);  // frees and clears fs even on error
  if (rc)
    throw Error(
        Exit::failed, "ext4_error",
        fmt::format("writing image '{}' out: {}", impl_->path.string(), libext2fs_message(rc)));
}

void Image::discard() {
  if (!impl_ || !impl_->fs) return;
  ext2fs_free(impl_->fs);
  impl_->fs = nullptr;
}

}  // namespace vmu::ext4
