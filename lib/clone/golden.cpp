#include "clone/golden.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "image/check.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace vmu {

namespace {

constexpr std::size_t kSuperblockOffset = 1024;
constexpr std::size_t kSuperblockSize = 1024;
constexpr std::uint32_t kIncompat64bit = 0x0080;

std::uint16_t le16(std::string_view raw, std::size_t off) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(raw[off]) |
                                    (static_cast<std::uint8_t>(raw[off + 1]) << 8));
}

std::uint32_t le32(std::string_view raw, std::size_t off) {
  return static_cast<std::uint32_t>(le16(raw, off)) |
         (static_cast<std::uint32_t>(le16(raw, off + 2)) << 16);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The mount point of block device `majmin` ("7:3") in /proc/self/mountinfo.
std::optional<std::string> mount_point_of(const std::string& majmin) {
  auto info = read_file_if_exists("/proc/self/mountinfo");
  if (!info) return std::nullopt;
  std::istringstream in(*info);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    if (f >> id >> parent >> dev >> root >> point && dev == majmin) return point;
  }
  return std::nullopt;
}

// ext2fs_check_if_mounted walks the mount table with getmntent(), which
// keeps its state in static storage: one caller at a time.
std::mutex g_mntent_mu;

}  // namespace

std::string Superblock::uuid_string() const {
  std::string s;
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", uuid[i]);
  }
  return s;
}

Superblock parse_superblock(std::string_view raw, const std::filesystem::path& shown_as) {
  auto not_ext = [&](std::string_view why) {
    return Error(Exit::usage, "golden_not_ext4",
                 fmt::format("'{}' is not an ext2/3/4 image ({}); --golden must name a "
                             "filesystem image such as one made by mke2fs",
                             shown_as.string(), why));
  };
  if (raw.size() < kSuperblockSize) throw not_ext("too short to hold a superblock");
  if (le16(raw, 56) != 0xEF53) throw not_ext("no ext superblock magic 0xEF53 at offset 1080");
  Superblock sb;
  const std::uint32_t log_bs = le32(raw, 24);
  if (log_bs > 6) throw not_ext(fmt::format("impossible block size 2^{}", 10 + log_bs));
  sb.block_size = 1024u << log_bs;
  sb.state = le16(raw, 58);
  sb.feature_compat = le32(raw, 92);
  sb.feature_incompat = le32(raw, 96);
  sb.feature_ro_compat = le32(raw, 100);
  std::memcpy(sb.uuid.data(), raw.data() + 104, sb.uuid.size());
  sb.blocks = le32(raw, 4);
  if (sb.feature_incompat & kIncompat64bit)
    sb.blocks |= static_cast<std::uint64_t>(le32(raw, 0x150)) << 32;
  if (sb.blocks == 0) throw not_ext("a block count of 0");
  return sb;
}

Superblock read_superblock(int fd, const std::filesystem::path& shown_as) {
  std::string raw(kSuperblockSize, '\0');
  std::size_t got = 0;
  while (got < raw.size()) {
    ssize_t n = ::pread(fd, raw.data() + got, raw.size() - got,
                        static_cast<off_t>(kSuperblockOffset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error(fmt::format("reading the superblock of '{}'", shown_as.string()), errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  raw.resize(got);
  return parse_superblock(raw, shown_as);
}

void check_golden_superblock(const Superblock& sb, std::uint64_t file_size,
                             const std::filesystem::path& golden) {
  ImageFacts facts;
  facts.file_size = file_size;
  facts.fs_bytes = sb.fs_bytes();
  facts.needs_recovery = sb.needs_recovery();
  facts.has_errors = (sb.state & 0x0002u) != 0;
  facts.clean = (sb.state & 0x0001u) != 0;
  facts.quota = (sb.feature_ro_compat & 0x0100u) != 0;  // RO_COMPAT_QUOTA
  check_image_facts(golden, facts, ImageRole::golden);
}

void check_golden_not_mounted(const std::filesystem::path& golden, dev_t dev, ino_t ino) {
  const std::string g = golden.string();
  {
    std::lock_guard lock(g_mntent_mu);
    int flags = 0;
    if (ext2fs_check_if_mounted(golden.c_str(), &flags) == 0 && (flags & EXT2_MF_MOUNTED))
      throw Error(Exit::usage, "golden_in_use",
                  fmt::format("'{}' is mounted; unmount it before cloning (a mounted image "
                              "changes under the copy)",
                              g));
  }
  // Loop devices backed by this very file (compared by device and inode,
  // so another name for the file is found too).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("loop")) continue;
    auto backing = read_file_if_exists(e.path() / "loop" / "backing_file");
    if (!backing) continue;
    struct stat st {};
    if (::stat(trim(*backing).c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) continue;
    const std::string majmin = trim(read_file_if_exists(e.path() / "dev").value_or(""));
    if (auto point = mount_point_of(majmin))
      throw Error(Exit::usage, "golden_in_use",
                  fmt::format("'{}' is mounted through /dev/{} at '{}'; unmount it and detach "
                              "the loop device ('losetup -d /dev/{}') before cloning",
                              g, name, *point, name));
    if (trim(read_file_if_exists(e.path() / "ro").value_or("0")) != "1")
      throw Error(Exit::usage, "golden_in_use",
                  fmt::format("'{}' is attached read-write to /dev/{}; detach it ('losetup -d "
                              "/dev/{}') before cloning",
                              g, name, name));
  }
}

}  // namespace vmu
