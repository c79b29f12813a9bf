#include "evidence/image_replay.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "clone/copy.hpp"
#include "clone/grow.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu::evidence {

OpenedImage open_image(const std::string& path, const fs::path& work, const StopFn& stop,
                       const ProgressFn& progress) {
  OpenedImage o;
  try {
    o.img = ext4::Image::open(path, ext4::Access::read_only, ext4::Dirty::refuse);
    o.note = "read as it is (clean)";
    return o;
  } catch (const Error& e) {
    if (e.reason() != "needs_recovery") {
      try {
        o.img = ext4::Image::open(path, ext4::Access::read_only, ext4::Dirty::allow);
        o.note = fmt::format("read as it is ({})", e.what());
      } catch (const Error& e2) {
        o.problem = e2.what();
      }
      return o;
    }
  }
  std::string why;
  try {
    Fd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src) throw sys_error(fmt::format("opening '{}'", path), errno);
    struct stat sb {};
    if (::fstat(src.get(), &sb) != 0) throw sys_error(fmt::format("stat of '{}'", path), errno);
    o.copy = work / "rootfs-replayed.ext4";
    Fd dst(::open(o.copy.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!dst) throw sys_error(fmt::format("creating '{}'", o.copy.string()), errno);
    if (try_reflink(src.get(), dst.get()) != 0)
      sparse_copy(src.get(), dst.get(), static_cast<std::uint64_t>(sb.st_size), path, o.copy, stop,
                  false, progress);
    dst.reset();
    const CommandResult r =
        run_command({"e2fsck", "-E", "journal_only", "-y", o.copy.string()}, stop);
    if (r.status > 1)  // 0 nothing to do, 1 replayed
      why = fmt::format("e2fsck -E journal_only exited {}", r.status);
    else
      o.img = ext4::Image::open(o.copy, ext4::Access::read_only, ext4::Dirty::allow);
  } catch (const Error& e) {
    if (e.code() == Exit::interrupted) throw;
    why = e.what();
  }
  if (o.img) {
    o.note =
        "its journal needed recovery (the VM ran or was stopped hard): read from a private "
        "copy with the journal replayed";
    return o;
  }
  o.release();
  try {
    o.img = ext4::Image::open(path, ext4::Access::read_only, ext4::Dirty::allow);
    o.note = fmt::format(
        "its journal needed recovery, and replaying it on a copy failed ({}): "
        "read as it is, the latest writes may be missing",
        why);
  } catch (const Error& e2) {
    o.problem = e2.what();
  }
  return o;
}

}  // namespace vmu::evidence
