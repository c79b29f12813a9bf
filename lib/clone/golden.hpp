// The golden image: what it must be before it may be cloned. Everything here
// only reads; the golden is only ever opened O_RDONLY.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace vmu {

// The fields of an ext2/3/4 superblock that cloning needs.
struct Superblock {
  std::array<std::uint8_t, 16> uuid{};
  std::uint64_t blocks = 0;      // s_blocks_count (hi half with 64bit)
  std::uint32_t block_size = 0;  // 1024 << s_log_block_size
  std::uint16_t state = 0;       // s_state: EXT2_VALID_FS 1, EXT2_ERROR_FS 2
  std::uint32_t feature_compat = 0;
  std::uint32_t feature_incompat = 0;
  std::uint32_t feature_ro_compat = 0;

  bool needs_recovery() const { return (feature_incompat & 0x0004u) != 0; }  // INCOMPAT_RECOVER
  bool has_journal() const { return (feature_compat & 0x0004u) != 0; }
  std::uint64_t fs_bytes() const { return blocks * block_size; }
  // "0e8c1e34-...": the form blkid and tune2fs print.
  std::string uuid_string() const;
};

// Parses the 1024 bytes found at offset 1024 of an image. Throws
// Exit::usage ("golden_not_ext4") naming `shown_as` when the magic 0xEF53 is
// not at offset 56 or the geometry is impossible.
Superblock parse_superblock(std::string_view raw, const std::filesystem::path& shown_as);

// Reads and parses the superblock of an open image.
Superblock read_superblock(int fd, const std::filesystem::path& shown_as);

// Refuses (Exit::usage) a golden that may not be cloned as it is:
// not ext2/3/4, shorter than its filesystem, journal needing recovery,
// marked with errors or not cleanly unmounted.
void check_golden_superblock(const Superblock& sb, std::uint64_t file_size,
                             const std::filesystem::path& golden);

// Refuses (Exit::usage, "golden_in_use") a golden that is mounted, directly
// or through a loop device, or attached read-write to a loop device.
// `dev`/`ino` are the golden's st_dev/st_ino.
void check_golden_not_mounted(const std::filesystem::path& golden, dev_t dev, ino_t ino);

}  // namespace vmu
