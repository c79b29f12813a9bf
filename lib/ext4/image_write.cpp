// The write side of an image: folders (mkdir -p), regular files (created
// extent-mapped; an inline-data file is converted before a rewrite, as
// libext2fs 1.47.0 overruns its buffer otherwise), symlinks, attributes,
// removal. Every write goes through an image opened read-write.
#include "ext4/image_impl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu::ext4 {

// Adds `name` -> `ino` to `dir`, growing the folder when it is full.
void Image::Impl::link_entry(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int type,
                             std::string_view guest) {
  errcode_t rc = ext2fs_link(fs, dir, name.c_str(), ino, type);
  if (rc == EXT2_ET_DIR_NO_SPACE) {
    check(ext2fs_expand_dir(fs, dir), where("growing the folder of", guest));
    rc = ext2fs_link(fs, dir, name.c_str(), ino, type);
  }
  check(rc, where("linking", guest));
}

void Image::Impl::apply_attrs(ext2_ino_t ino, const Attrs& a) {
  ext2_inode in = read_inode(ino);  // re-read: file I/O rewrites the inode
  in.i_mode = static_cast<__u16>((in.i_mode & LINUX_S_IFMT) | (a.mode & 07777));
  in.i_uid = static_cast<__u16>(a.uid & 0xffff);
  in.osd2.linux2.l_i_uid_high = static_cast<__u16>(a.uid >> 16);
  in.i_gid = static_cast<__u16>(a.gid & 0xffff);
  in.osd2.linux2.l_i_gid_high = static_cast<__u16>(a.gid >> 16);
  in.i_atime = in.i_mtime = in.i_ctime = now();
  write_inode(ino, in);
}

void Image::Impl::set_owner(ext2_ino_t ino, std::uint32_t uid, std::uint32_t gid) {
  ext2_inode in = read_inode(ino);
  apply_attrs(ino, Attrs{in.i_mode & 07777u, uid, gid});
}

// Creates one folder `name` in `parent` (0755 root:root).
ext2_ino_t Image::Impl::make_dir(ext2_ino_t parent, const std::string& name,
                                 std::string_view guest) {
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

ext2_ino_t Image::Impl::make_dirs(std::string_view guest) {
  // Each round creates one missing folder and walks again, so symlinks on
  // the way (even dangling ones) are resolved the same way every time.
  for (int round = 0; round < 4096; ++round) {
    Walk w = walk(guest, Follow::yes);
    if (w.ino) {
      ext2_inode in = read_inode(w.ino);
      if (!LINUX_S_ISDIR(in.i_mode))
        throw Error(Exit::usage, "not_a_directory",
                    fmt::format("creating the folder '{}' in image '{}': it exists as a {}", guest,
                                path.string(), type_word(type_of_mode(in.i_mode))));
      return w.ino;
    }
    make_dir(w.parent, w.name, guest);
  }
  throw Error(Exit::failed, "internal", where("too many folders creating", guest));
}

// Frees an inode's blocks (fast symlinks hold text, not blocks).
void Image::Impl::free_blocks(ext2_ino_t ino, ext2_inode& in, std::string_view guest) {
  if ((in.i_flags & EXT4_INLINE_DATA_FL) || ext2fs_inode_has_valid_blocks2(fs, &in))
    check(ext2fs_punch(fs, ino, &in, nullptr, 0, ~0ULL), where("freeing the blocks of", guest));
}

// Empties a regular file and leaves it extent-mapped (never inline).
void Image::Impl::truncate_for_rewrite(ext2_ino_t ino, std::string_view guest) {
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

ext2_ino_t Image::Impl::create_file(ext2_ino_t parent, const std::string& name,
                                    std::string_view guest) {
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
std::uint64_t Image::Impl::write_allocated(ext2_ino_t ino, Reader& src, std::uint64_t size,
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
      throw Error(Exit::failed, "source_changed", where("the source shrank while writing", guest));
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

std::uint64_t Image::Impl::write_contents(ext2_ino_t ino, Reader& src, std::string_view guest) {
  if (auto size = src.size(); size && *size >= (1u << 20) && ext2fs_has_feature_extents(fs->super))
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

void Image::Impl::unlink_entry(ext2_ino_t parent, const std::string& name, ext2_ino_t ino,
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

}  // namespace vmu::ext4
