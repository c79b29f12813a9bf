#include "image/check.hpp"

#include <ext2fs/ext2fs.h>
extern "C" {  // com_err.h has no C++ guard
#include <et/com_err.h>
}

#include <mutex>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

void check_image_facts(const std::filesystem::path& path, const ImageFacts& f, ImageRole role,
                       bool strict) {
  const std::string p = path.string();
  const bool golden = role == ImageRole::golden;
  const std::string what = golden ? "the golden" : "image";
  auto reason = [&](const char* r) { return golden ? fmt::format("golden_{}", r) : r; };
  if (f.fs_bytes > f.file_size)
    throw Error(Exit::usage, reason("truncated"),
                fmt::format("{} '{}' is truncated: its filesystem spans {} bytes but the file has "
                            "{}; restore or rebuild it",
                            what, p, f.fs_bytes, f.file_size));
  if (role == ImageRole::read && !strict) return;
  if (f.needs_recovery)
    throw Error(Exit::usage, reason("needs_recovery"),
                fmt::format("refusing {} '{}': its journal needs recovery (it was not unmounted "
                            "cleanly, or copied from a running VM), and replaying it at boot "
                            "would overwrite offline changes; run `e2fsck -fy {}` first",
                            what, p, p));
  if (f.has_errors)
    throw Error(golden ? Exit::usage : Exit::failed, golden ? "golden_has_errors" : "corrupted",
                fmt::format("refusing {} '{}': the filesystem records errors; repair it with "
                            "`e2fsck -fy {}`",
                            what, p, p));
  if (!f.clean)
    throw Error(Exit::usage, golden ? "golden_not_clean" : "needs_recovery",
                fmt::format("refusing {} '{}': it was not unmounted cleanly (or is mounted); "
                            "unmount it and run `e2fsck -fy {}` first",
                            what, p, p));
  if (role != ImageRole::read && f.quota)
    throw Error(Exit::usage, reason("quota_feature"),
                fmt::format("refusing {} '{}': it has the quota feature, whose usage records "
                            "libext2fs does not update (e2fsck would then fail){}; remove it "
                            "with `tune2fs -O ^quota {}`",
                            what, p, golden ? ", so agent-inject could not edit a clone" : "", p));
}

void check_group_descriptors(struct_ext2_filsys* fs, const std::filesystem::path& path,
                             ImageRole role) {
  const errcode_t rc = ext2fs_check_desc(fs);
  if (rc == 0) return;
  const bool golden = role == ImageRole::golden;
  throw Error(Exit::failed, golden ? "golden_corrupted" : "corrupted",
              fmt::format("refusing {} '{}': its group descriptors are damaged ({}); repair it "
                          "with `e2fsck -fy {}`",
                          golden ? "the golden" : "image", path.string(), error_message(rc),
                          path.string()));
}

namespace {
extern "C" void discard_com_err(const char*, errcode_t, const char*, va_list) {}
}  // namespace

void init_libext2fs() {
  static std::once_flag once;
  std::call_once(once, [] {
    add_error_table(&et_ext2_error_table);
    set_com_err_hook(discard_com_err);
  });
}

}  // namespace vmu
