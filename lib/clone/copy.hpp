// Copying an image: a reflink (FICLONE, the filesystem shares the extents:
// O(1)) or a sparse copy (only the data extents, found with
// SEEK_DATA/SEEK_HOLE, moved by copy_file_range; holes stay holes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "clone/stop.hpp"
#include "util/progress.hpp"

namespace vmu {

enum class CloneMethod { automatic, reflink, copy };

std::string_view method_name(CloneMethod m);  // "auto", "reflink", "copy"
// Throws Exit::usage quoting `s` when it is not one of the above.
CloneMethod parse_method(std::string_view s);

// True for the FICLONE errors that mean "these files cannot share extents
// here" (filesystem without reflink, different filesystems, ...), after
// which a copy is the right thing; any other error is a real failure.
bool reflink_unsupported(int err);

// FICLONE of all of `src` into `dst`: 0, or the errno. Never throws.
int try_reflink(int src, int dst);

struct CopyStats {
  std::uint64_t bytes = 0;  // data bytes moved (holes not counted)
  bool read_write = false;  // copy_file_range was unusable: read/write
};

// Copies the first `size` bytes of `src` into the empty file `dst`, data
// extents only, and sets dst's size to `size`. A full disk is
// Exit::exhausted; `stop` is asked between chunks. With `start_writeback`,
// the writeback of each copied chunk is started right away
// (sync_file_range), so that an fsync after the copy has little left to
// wait for; without it the data stays dirty in the page cache, as after cp.
// `progress` hears "copying" with the offset reached (holes count as done).
CopyStats sparse_copy(int src, int dst, std::uint64_t size, const std::filesystem::path& src_name,
                      const std::filesystem::path& dst_name, const StopFn& stop,
                      bool start_writeback = false, const ProgressFn& progress = {});

}  // namespace vmu
