// The one check of an image's superblock facts, shared by every tool that
// opens an image: rootfs-clone (its golden), agent-inject and rootfs-inspect
// (through ext4::Image::open). A truncated image was written by agent-inject
// and read by rootfs-inspect without a word while rootfs-clone refused it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

struct struct_ext2_filsys;  // libext2fs's, opened by the caller

namespace vmu {

// What the superblock and the file say.
struct ImageFacts {
  std::uint64_t file_size = 0;
  std::uint64_t fs_bytes = 0;  // blocks count x block size
  bool needs_recovery = false;
  bool has_errors = false;  // EXT2_ERROR_FS
  bool clean = true;        // EXT2_VALID_FS
  bool quota = false;       // the quota feature
};

enum class ImageRole {
  read,    // looked at: truncation refused; dirty state only if `strict`
  write,   // edited in place: everything refused, quota too (libext2fs cannot update it)
  golden,  // cloned to be edited: as write, with golden_* reasons
};

// Throws the refusal for the first fact that rules the image out for
// `role`, naming `path` and the fix.
void check_image_facts(const std::filesystem::path& path, const ImageFacts& f, ImageRole role,
                       bool strict = true);

// Right after ext2fs_open, before anything reads or writes through the
// filesystem: its group descriptors point inside it (ext2fs_check_desc).
// libext2fs opens an image whose descriptor sends the block bitmap past the
// end without a word, and agent-inject then wrote it into ruin. Throws
// Exit::failed ("corrupted", "golden_corrupted" for a golden) with the fix.
void check_group_descriptors(struct_ext2_filsys* fs, const std::filesystem::path& path,
                             ImageRole role);

// Once per process, before the first ext2fs_open: libext2fs's error table
// is registered and its own messages (com_err, e.g. "Illegal block number
// passed to ext2fs_test_block_bitmap") no longer reach stderr raw; every
// failure still comes back as an error code, which the caller reports.
void init_libext2fs();

}  // namespace vmu
