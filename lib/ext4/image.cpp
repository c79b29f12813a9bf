// An ext2/3/4 image through libext2fs: opening (with the one image check
// and the group descriptors checked), space, closing. The rest of Image is
// split along its seams: image_paths.cpp, image_read.cpp, image_write.cpp
// (libext2fs 1.47.0 call sequences and the inline-data write bug are noted
// there), over the shared Image::Impl of image_impl.hpp.
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

#include "ext4/image_impl.hpp"
#include "image/check.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace vmu::ext4 {

namespace {

void init_error_table() {
  init_libext2fs();
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
