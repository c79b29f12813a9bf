// vm-logs-archive's view of a VM's image: opened read-only, and when its
// ext4 journal needs recovery, read from a private copy with the journal
// replayed (open_image). Internal to lib/evidence.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "clone/stop.hpp"
#include "ext4/image.hpp"
#include "util/progress.hpp"

namespace vmu::evidence {

namespace fs = std::filesystem;

// The VM's image, opened read-only. One whose ext4 journal needs recovery
// (the VM runs, or was stopped hard) holds its latest metadata — a journal
// file created a few seconds before a SIGKILL, say — only in that journal:
// it is copied into `work` (reflink, else a sparse copy) and the journal is
// replayed on the copy (e2fsck -E journal_only), so those files are seen.
// The image itself is never changed. When that fails, the image is read as
// it is, and `note` says so.
struct OpenedImage {
  std::optional<ext4::Image> img;
  fs::path copy;     // the replayed copy, removed by release()
  std::string note;  // how it was read, for the manifest
  std::string problem;
  void release() {
    img.reset();
    std::error_code ec;
    if (!copy.empty()) fs::remove(copy, ec);
    copy.clear();
  }
};

OpenedImage open_image(const std::string& path, const fs::path& work, const StopFn& stop,
                       const ProgressFn& progress);

}  // namespace vmu::evidence
