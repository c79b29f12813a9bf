#include "inspect/tree.hpp"

#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/time.hpp"

namespace vmu::inspect {

std::string mode_octal(std::uint32_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

std::string mode_string(ext4::FileType type, std::uint32_t mode) {
  char t = '?';
  switch (type) {
    case ext4::FileType::regular:
      t = '-';
      break;
    case ext4::FileType::directory:
      t = 'd';
      break;
    case ext4::FileType::symlink:
      t = 'l';
      break;
    case ext4::FileType::char_device:
      t = 'c';
      break;
    case ext4::FileType::block_device:
      t = 'b';
      break;
    case ext4::FileType::fifo:
      t = 'p';
      break;
    case ext4::FileType::socket:
      t = 's';
      break;
    case ext4::FileType::unknown:
      break;
  }
  std::string s(10, '-');
  s[0] = t;
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400u >> i)) s[static_cast<std::size_t>(i + 1)] = rwx[i];
  auto special = [&](std::uint32_t bit, std::size_t at, char with_x, char without_x) {
    if (mode & bit) s[at] = s[at] == '-' ? without_x : with_x;
  };
  special(04000, 3, 's', 'S');
  special(02000, 6, 's', 'S');
  special(01000, 9, 't', 'T');
  return s;
}

nlohmann::json stat_json(const std::string& path, const ext4::Stat& st) {
  nlohmann::json j = {{"path", path},
                      {"type", std::string(ext4::type_word(st.type))},
                      {"mode", mode_octal(st.mode)},
                      {"uid", st.uid},
                      {"gid", st.gid},
                      {"size", st.size},
                      {"mtime", to_rfc3339(SysTime(std::chrono::seconds(st.mtime)))},
                      {"links", st.links},
                      {"inode", st.inode}};
  if (st.type == ext4::FileType::symlink) j["target"] = st.symlink_target;
  return j;
}

namespace {

std::string join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

struct Walker {
  const ext4::Image& img;
  const Limits& limits;
  const std::function<void(const Entry&)>& each;
  bool recursive;
  std::size_t seen = 0;

  void folder(const std::string& path, int depth) {
    if (depth > limits.max_depth)
      throw Error(Exit::exhausted, "too_deep",
                  fmt::format("listing '{}' in image '{}': deeper than {} folders (a damaged "
                              "image, or raise --max-depth)",
                              path, img.path().string(), limits.max_depth));
    std::vector<std::string> subdirs;
    for (const ext4::DirEntry& d : img.list(path)) {
      if (++seen > limits.max_entries)
        throw Error(Exit::exhausted, "too_many_entries",
                    fmt::format("listing '{}' in image '{}': more than {} entries (raise "
                                "--max-entries, or list a narrower path)",
                                path, img.path().string(), limits.max_entries));
      Entry e{join(path, d.name), img.stat_inode(d.inode)};
      each(e);
      if (recursive && e.stat.type == ext4::FileType::directory) subdirs.push_back(e.path);
    }
    for (const auto& s : subdirs) folder(s, depth + 1);
  }
};

}  // namespace

void list_tree(const ext4::Image& img, std::string_view path, bool recursive, const Limits& limits,
               const std::function<void(const Entry&)>& each) {
  auto followed = img.stat(path, ext4::Follow::yes);
  if (!followed) {
    // A dangling symlink is still an entry to show.
    if (auto self = img.stat(path, ext4::Follow::no)) {
      each(Entry{std::string(path), *self});
      return;
    }
    throw Error(Exit::usage, "not_found",
                fmt::format("listing '{}' in image '{}': no such file or folder", path,
                            img.path().string()));
  }
  if (followed->type != ext4::FileType::directory) {
    each(Entry{std::string(path), *img.stat(path, ext4::Follow::no)});
    return;
  }
  Walker w{img, limits, each, recursive};
  w.folder(std::string(path), 0);
}

void read_stream(const ext4::Image& img, std::string_view path,
                 const std::function<bool(std::string_view)>& sink) {
  auto st = img.stat(path, ext4::Follow::yes);
  if (!st)
    throw Error(Exit::usage, "not_found",
                fmt::format("reading '{}' in image '{}': no such file", path, img.path().string()));
  if (st->type != ext4::FileType::regular)
    throw Error(Exit::usage, "not_a_file",
                fmt::format("reading '{}' in image '{}': it is a {}, not a file", path,
                            img.path().string(), ext4::type_word(st->type)));
  auto r = img.open_reader(st->inode);
  std::vector<char> buf(1u << 20);
  for (;;) {
    const std::size_t n = r->read(buf.data(), buf.size());
    if (n == 0 || !sink(std::string_view(buf.data(), n))) break;
  }
}

ext4::Image open_for_inspection(const std::string& path) {
  return ext4::Image::open(path, ext4::Access::read_only, ext4::Dirty::allow);
}

}  // namespace vmu::inspect
