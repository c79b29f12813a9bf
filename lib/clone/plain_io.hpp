// A libext2fs I/O manager that never fsyncs: pread/pwrite on the image,
// no block cache, flush a no-op. libext2fs's own unix_io fsyncs the image
// when it opens it (to clear stale writeback errors) and in every flush,
// which on a fresh clone means writing back all of its data; a clone that
// need not survive a host crash does not want that. Every write reaches the
// file (the page cache) before its call returns, and its errors (ENOSPC,
// EIO) are returned to the caller, so closing loses nothing.
#pragma once

#include <ext2fs/ext2fs.h>

namespace vmu {

// The manager, for ext2fs_open2. Regular files only (no O_DIRECT, no
// discard or zeroout: libext2fs falls back to writing zeroes).
io_manager plain_io_manager();

}  // namespace vmu
