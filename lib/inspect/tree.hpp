// Reading an image's tree: entries as JSON, listings (recursive, bounded),
// and a file's contents as a stream. Symlinks are resolved inside the image
// (lib/ext4); listings never follow them below the folder asked for.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ext4/image.hpp"

namespace vmu::inspect {

// Every walk is bounded: entries visited and folder depth.
struct Limits {
  std::size_t max_entries = 1'000'000;
  int max_depth = 64;
};

// "0755": the permission bits as a record writes them.
std::string mode_octal(std::uint32_t mode);
// "-rwxr-xr-x", as ls -l shows a type and mode.
std::string mode_string(ext4::FileType type, std::uint32_t mode);

// {"path","type","mode","uid","gid","size","mtime","links","inode"[,"target"]}.
nlohmann::json stat_json(const std::string& path, const ext4::Stat& st);

struct Entry {
  std::string path;  // absolute guest path
  ext4::Stat stat;   // of the entry itself (a symlink is not followed)
};

// `ls`: the entries of the folder `path` names (symlinks to it followed), in
// name order; recursive lists each sub-folder after the entries of its
// parent, depth first. A `path` that is not a folder gives that one entry.
// Past the limits: Exit::exhausted ("too_many_entries"/"too_deep").
void list_tree(const ext4::Image& img, std::string_view path, bool recursive, const Limits& limits,
               const std::function<void(const Entry&)>& each);

// `cat`: a regular file's contents (symlinks followed) handed to `sink` in
// chunks; `sink` returns false to stop. Exit::usage for a missing path or
// one that is not a regular file.
void read_stream(const ext4::Image& img, std::string_view path,
                 const std::function<bool(std::string_view)>& sink);

// Opens an image for inspection: read-only, also when a running VM has it
// (its journal is not replayed: recent guest writes may not be visible).
ext4::Image open_for_inspection(const std::string& path);

}  // namespace vmu::inspect
