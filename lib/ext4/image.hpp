// An ext2/3/4 image file, read and edited offline through libext2fs: no
// mount, no root. Guest paths are absolute paths inside the image; every
// symlink met on the way is resolved inside the image (an absolute target
// starts again at the image's root, `..` at the root stays at the root), so
// no path can lead outside the filesystem. libext2fs stays behind the pimpl.
//
// The read side (open read-only, stat, read_file, list, read_link, space)
// is what rootfs-inspect uses; the write side is agent-inject's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmu::ext4 {

enum class Access { read_only, read_write };
// Whether a read-only open accepts an image that was not unmounted cleanly
// (its journal needs recovery, e.g. the rootfs of a running VM): reading it
// shows what was last written back, not what is still only in the journal
// or the guest's page cache. Writers always refuse such an image.
enum class Dirty { refuse, allow };
// Whether the last component of a path is followed when it is a symlink.
enum class Follow { no, yes };

enum class FileType {
  regular,
  directory,
  symlink,
  char_device,
  block_device,
  fifo,
  socket,
  unknown
};
// "file", "directory", "symlink", ...: for messages and JSON.
std::string_view type_word(FileType type);

// Symlinks followed while resolving one path before it is refused as a loop
// (the kernel's limit, MAXSYMLINKS).
inline constexpr int kMaxSymlinks = 40;

struct Stat {
  std::uint32_t inode = 0;
  FileType type = FileType::unknown;
  std::uint32_t mode = 0;  // permission bits with setuid/setgid/sticky (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // seconds since the epoch
  std::uint32_t links = 0;
  std::string symlink_target;  // symlinks only
};

struct DirEntry {
  std::string name;
  std::uint32_t inode = 0;
  FileType type = FileType::unknown;
};

struct Space {
  std::uint32_t block_size = 0;
  std::uint64_t blocks_total = 0;
  std::uint64_t blocks_free = 0;
  std::uint64_t inodes_total = 0;
  std::uint64_t inodes_free = 0;
};

// Mode (07777 bits) and owner given to what a write creates or changes.
struct Attrs {
  std::uint32_t mode = 0644;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

// What a path would need from the image before it can be created: used to
// plan (and estimate space) without writing anything.
struct Resolution {
  std::optional<Stat> existing;  // what the path names now, if anything
  std::size_t missing_dirs = 0;  // folders mkdir -p would create on the way
  std::string blocker;           // non-empty: why it cannot be created
};

// A stream of file contents, read in chunks until it returns 0.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::size_t read(char* buf, std::size_t n) = 0;
  // The number of bytes read() will give, when known in advance: lets a
  // large file be allocated in one go and written in large runs.
  virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
};

// Contents held in memory.
class MemoryReader : public Reader {
 public:
  explicit MemoryReader(std::string_view data) : data_(data) {}
  std::size_t read(char* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return data_.size(); }

 private:
  std::string_view data_;
};

// True when the image file is mounted (also through a loop device).
bool is_mounted(const std::filesystem::path& image);

class Image {
 public:
  // Opens `path`. Refuses (throws vmu::Error):
  //   not an ext2/3/4 filesystem              Exit::usage   "not_ext4"
  //   journal needs recovery (not unmounted   Exit::usage   "needs_recovery"
  //     cleanly): fix with `e2fsck -fy`
  //   mounted (read_write only)               Exit::usage   "image_mounted"
  //   quota feature (read_write only: libext2fs leaves quota stale)
  //                                           Exit::usage   "quota_feature"
  //   damaged / errors recorded               Exit::failed  "corrupted", libext2fs's reason
  // With Dirty::allow (read_only only), "needs_recovery" and "corrupted"
  // for recorded errors are not refused: the image is read as it is.
  static Image open(const std::filesystem::path& path, Access access, Dirty dirty = Dirty::refuse);

  Image(Image&&) noexcept;
  Image& operator=(Image&&) noexcept;
  ~Image();  // closes; a read_write image is flushed (errors are lost: call close())

  const std::filesystem::path& path() const;
  bool writable() const;
  Space space() const;
  std::uint32_t block_size() const;
  // Features the filesystem has, e.g. "extent", "inline_data", "64bit".
  bool has_feature(std::string_view name) const;

  // --- Read side ---------------------------------------------------------
  // std::nullopt when the path does not exist. Throws Exit::guest_failed
  // ("symlink_loop") past kMaxSymlinks, Exit::usage for a path that is not
  // absolute or goes through a non-folder.
  std::optional<Stat> stat(std::string_view guest_path, Follow follow = Follow::no) const;
  Stat stat_inode(std::uint32_t inode) const;
  // A regular file's contents (symlinks followed); larger than `limit`:
  // Exit::usage ("too_large").
  std::string read_file(std::string_view guest_path, std::size_t limit = 16u << 20) const;
  // A folder's entries without "." and "..", sorted by name.
  std::vector<DirEntry> list(std::string_view guest_path) const;
  std::string read_link(std::string_view guest_path) const;
  // A regular file's contents as a stream, by inode (from stat or list),
  // without a size limit: read in large runs of physically contiguous
  // blocks; holes and unwritten extents read as zeros. size() is the file
  // size. The reader must not outlive the image. Exit::usage ("not_a_file")
  // for anything but a regular file.
  std::unique_ptr<Reader> open_reader(std::uint32_t inode) const;
  // Up to `n` first bytes of a regular file (e.g. to tell an ELF binary or
  // a #! script apart without reading all of it).
  std::string read_head(std::uint32_t inode, std::size_t n) const;
  // Planning help: what creating `guest_path` (mkdir -p of its parent, then
  // the entry itself; the last component is not followed) would meet.
  Resolution resolve_for_create(std::string_view guest_path) const;

  // --- Write side (Access::read_write) -----------------------------------
  // mkdir -p: missing folders are created 0755 root:root; the last one
  // then gets `attrs` when given (also when it existed).
  void make_dirs(std::string_view guest_path, const std::optional<Attrs>& attrs);
  // Creates or replaces a regular file (a symlink at the path is followed,
  // as cp does, inside the image); missing parents as in make_dirs.
  // Returns the bytes written.
  std::uint64_t write_file(std::string_view guest_path, Reader& contents, const Attrs& attrs);
  // Creates the symlink `guest_path` -> `target`, or replaces a symlink that
  // points elsewhere; another kind of file there is refused (Exit::usage).
  void symlink(std::string_view target, std::string_view guest_path, std::uint32_t uid = 0,
               std::uint32_t gid = 0);
  void set_attrs(std::string_view guest_path, const Attrs& attrs, Follow follow = Follow::no);
  // Removes a non-folder entry; false when there was none.
  bool remove(std::string_view guest_path);

  // Writes everything out (bitmaps, group descriptors, superblock) and
  // fsyncs; throws on failure. Nothing is durable before this.
  void close();
  // Closes without writing anything that is still only in memory; for a
  // run that found a problem before its first change.
  void discard();

  struct Impl;

 private:
  explicit Image(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits an absolute guest path into components ("/a//b/" -> a, b). Throws
// Exit::usage when it is not absolute, has a NUL, or a component is longer
// than 255 bytes. "." and ".." are kept; callers that refuse ".." check.
std::vector<std::string> split_guest_path(std::string_view guest_path);

}  // namespace vmu::ext4
