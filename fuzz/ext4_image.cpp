// A mutated small ext2/3/4 image opened through lib/ext4 as rootfs-inspect
// opens one (read-only, the one image check included), walked with limits,
// every regular file read (bounded) and every symlink read.
#include "ext4/image.hpp"
#include "fuzz.hpp"
#include "inspect/tree.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vmu::fuzz::MemFile f(vmu::fuzz::bytes(data, size));
  try {
    const auto img = vmu::inspect::open_for_inspection(f.path());
    vmu::inspect::Limits limits;
    limits.max_entries = 2000;
    limits.max_depth = 16;
    std::vector<vmu::inspect::Entry> entries;
    vmu::inspect::list_tree(img, "/", true, limits,
                            [&](const vmu::inspect::Entry& e) { entries.push_back(e); });
    std::size_t budget = 1u << 20;
    for (const auto& e : entries) {
      try {
        if (e.stat.type == vmu::ext4::FileType::regular && budget > 0) {
          vmu::inspect::read_stream(img, e.path, [&](std::string_view chunk) {
            budget = chunk.size() > budget ? 0 : budget - chunk.size();
            return budget > 0;
          });
        } else if (e.stat.type == vmu::ext4::FileType::symlink) {
          (void)img.read_link(e.path);
        }
      } catch (const vmu::Error&) {
      }
    }
  } catch (const vmu::Error&) {
  }
  return 0;
}
