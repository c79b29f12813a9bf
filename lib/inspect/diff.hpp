// What differs between two images: entries added, removed, or changed in
// type, mode, owner, size, symlink target or content. Metadata is compared
// first; contents only where the sizes are equal (a streaming compare that
// stops at the first different byte), and a changed file's SHA-256 digests
// are then computed for the report. Read-only; symlinks are compared, never
// followed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ext4/image.hpp"
#include "inspect/tree.hpp"

namespace vmu::inspect {

enum class Change { added, removed, changed };
std::string_view change_word(Change c);

struct DiffSide {
  ext4::Stat stat;
  std::string sha256;  // only for a same-size content change
};

struct Difference {
  std::string path;
  Change change = Change::changed;
  std::vector<std::string> fields;  // "type", "mode", "uid", "gid", "size", "target", "content"
  std::optional<DiffSide> a, b;     // a: the first image's entry (absent when added)

  // {"path","change","fields":[...],"a":{...},"b":{...}}
  nlohmann::json json() const;
  // One readable line: "~ /etc/environment  content, mode 0644 -> 0600".
  std::string text() const;
  // What changed, without the mark and the path: "content ..., mode 0644 -> 0600".
  std::string detail() const;
};

struct DiffOptions {
  std::vector<std::string> prefixes;  // empty: the whole tree
  Limits limits;
};

struct DiffStats {
  std::uint64_t entries = 0;         // entries looked at, both images
  std::uint64_t files_compared = 0;  // same-size files whose contents were read
  std::uint64_t bytes_compared = 0;  // bytes read from both images for that
  std::uint64_t differences = 0;
};

// Calls `each` for every difference, in path order within each prefix.
DiffStats diff_images(const ext4::Image& a, const ext4::Image& b, const DiffOptions& opts,
                      const std::function<void(const Difference&)>& each);

}  // namespace vmu::inspect
