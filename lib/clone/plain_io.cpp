#include "clone/plain_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

namespace vmu {

namespace {

struct Private {
  int fd = -1;
  struct_io_stats stats{};
  std::string name;
};

Private* priv(io_channel ch) {
  return static_cast<Private*>(ch->private_data);
}

// Bytes of a transfer: count blocks, or -count bytes.
ssize_t transfer_size(io_channel ch, int count) {
  return count < 0 ? static_cast<ssize_t>(-static_cast<long>(count))
                   : static_cast<ssize_t>(count) * ch->block_size;
}

errcode_t pread_all(int fd, void* buf, ssize_t size, off_t at) {
  auto* p = static_cast<char*>(buf);
  ssize_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, p + done, static_cast<size_t>(size - done), at + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const errcode_t rc = n < 0 ? errcode_t{errno} : errcode_t{EXT2_ET_SHORT_READ};
      std::memset(p + done, 0, static_cast<size_t>(size - done));
      return rc;
    }
    done += n;
  }
  return 0;
}

errcode_t pwrite_all(int fd, const void* buf, ssize_t size, off_t at) {
  const auto* p = static_cast<const char*>(buf);
  ssize_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, p + done, static_cast<size_t>(size - done), at + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EXT2_ET_SHORT_WRITE;
    done += n;
  }
  return 0;
}

errcode_t plain_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  Private* p = priv(ch);
  errcode_t rc = 0;
  if (::close(p->fd) != 0) rc = errno;
  delete p;
  delete ch;
  return rc;
}

errcode_t plain_set_blksize(io_channel ch, int blksize) {
  ch->block_size = blksize;
  return 0;
}

errcode_t plain_read_blk64(io_channel ch, unsigned long long block, int count, void* data) {
  const ssize_t size = transfer_size(ch, count);
  priv(ch)->stats.bytes_read += static_cast<unsigned long long>(size);
  return pread_all(priv(ch)->fd, data, size, static_cast<off_t>(block * ch->block_size));
}

errcode_t plain_read_blk(io_channel ch, unsigned long block, int count, void* data) {
  return plain_read_blk64(ch, block, count, data);
}

errcode_t plain_write_blk64(io_channel ch, unsigned long long block, int count, const void* data) {
  const ssize_t size = transfer_size(ch, count);
  priv(ch)->stats.bytes_written += static_cast<unsigned long long>(size);
  return pwrite_all(priv(ch)->fd, data, size, static_cast<off_t>(block * ch->block_size));
}

errcode_t plain_write_blk(io_channel ch, unsigned long block, int count, const void* data) {
  return plain_write_blk64(ch, block, count, data);
}

errcode_t plain_write_byte(io_channel ch, unsigned long offset, int count, const void* data) {
  if (count < 0) return EXT2_ET_INVALID_ARGUMENT;
  return pwrite_all(priv(ch)->fd, data, count, static_cast<off_t>(offset));
}

errcode_t plain_flush(io_channel) {
  return 0;
}  // nothing cached; no fsync by design

errcode_t plain_set_option(io_channel, const char*, const char*) {
  return EXT2_ET_INVALID_ARGUMENT;
}

errcode_t plain_get_stats(io_channel ch, io_stats* stats) {
  if (stats) *stats = &priv(ch)->stats;
  return 0;
}

errcode_t plain_open(const char* name, int flags, io_channel* channel);

struct_io_manager manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "vmutils plain I/O manager (no cache, no fsync)",
    .open = plain_open,
    .close = plain_close,
    .set_blksize = plain_set_blksize,
    .read_blk = plain_read_blk,
    .write_blk = plain_write_blk,
    .flush = plain_flush,
    .write_byte = plain_write_byte,
    .set_option = plain_set_option,
    .get_stats = plain_get_stats,
    .read_blk64 = plain_read_blk64,
    .write_blk64 = plain_write_blk64,
    .discard = nullptr,
    .cache_readahead = nullptr,
    .zeroout = nullptr,
    .reserved = {},
};

errcode_t plain_open(const char* name, int flags, io_channel* channel) {
  if (!name) return EXT2_ET_BAD_DEVICE_NAME;
  int oflags = (flags & IO_FLAG_RW) ? O_RDWR : O_RDONLY;
  if (flags & IO_FLAG_EXCLUSIVE) oflags |= O_EXCL;
  const int fd = ::open(name, oflags | O_CLOEXEC);
  if (fd < 0) return errno;
  auto* p = new (std::nothrow) Private;
  auto* ch = new (std::nothrow) struct_io_channel{};
  if (!p || !ch) {
    delete p;
    delete ch;
    ::close(fd);
    return EXT2_ET_NO_MEMORY;
  }
  p->fd = fd;
  p->stats.num_fields = 2;
  p->name = name;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &manager;
  ch->name = p->name.data();
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = p;
  *channel = ch;
  return 0;
}

}  // namespace

io_manager plain_io_manager() {
  return &manager;
}

}  // namespace vmu
