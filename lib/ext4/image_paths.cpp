// Paths inside an image: every component looked up inside it, symlinks
// followed inside it (an absolute target is relative to the image's root,
// ".." never leaves it), bounded; stat of what a path names.
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

ext2_ino_t Image::Impl::lookup(ext2_ino_t dir, const std::string& name,
                               std::string_view guest) const {
  ext2_ino_t ino = 0;
  errcode_t rc = ext2fs_lookup(fs, dir, name.c_str(), static_cast<int>(name.size()), nullptr, &ino);
  if (rc == EXT2_ET_FILE_NOT_FOUND) return 0;
  check(rc, where("looking up", guest));
  return ino;
}

std::string Image::Impl::link_target(ext2_ino_t ino, ext2_inode& in, std::string_view guest) const {
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

// Resolves `guest` inside the image (see image.hpp).
Image::Impl::Walk Image::Impl::walk(std::string_view guest, Follow follow) const {
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
                    fmt::format("resolving '{}' in image '{}': an empty symlink on the way", guest,
                                path.string()));
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

Stat Image::Impl::stat_of(ext2_ino_t ino, std::string_view guest) const {
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

// The folder that holds the last component of `guest` (created when
// missing and `create`; else 0 when missing), and that component's name.
std::pair<ext2_ino_t, std::string> Image::Impl::parent_of(std::string_view guest, bool create) {
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

std::optional<Stat> Image::stat(std::string_view guest_path, Follow follow) const {
  auto w = impl_->walk(guest_path, follow);
  if (!w.ino) return std::nullopt;
  return impl_->stat_of(w.ino, guest_path);
}

Stat Image::stat_inode(std::uint32_t inode) const {
  return impl_->stat_of(inode, fmt::format("inode {}", inode));
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

}  // namespace vmu::ext4
