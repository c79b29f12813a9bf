// The read side of an image: whole files (bounded), folders, symlink
// targets, and regular files streamed by inode.
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

std::string Image::Impl::read_contents(ext2_ino_t ino, ext2_inode& in, std::size_t size,
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
    const auto want = static_cast<unsigned int>(std::min<std::size_t>(size - got_total, 1u << 20));
    rc = ext2fs_file_read(f, out.data() + got_total, want, &got);
    if (rc || got == 0) break;
    got_total += got;
  }
  ext2fs_file_close(f);
  check(rc, where("reading", guest));
  out.resize(got_total);
  return out;
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

}  // namespace vmu::ext4
