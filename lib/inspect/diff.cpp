#include "inspect/diff.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "inject/sha256.hpp"
#include "util/error.hpp"

namespace vmu::inspect {

std::string_view change_word(Change c) {
  switch (c) {
    case Change::added:
      return "added";
    case Change::removed:
      return "removed";
    case Change::changed:
      break;
  }
  return "changed";
}

namespace {

nlohmann::json side_json(const DiffSide& s) {
  nlohmann::json j = {{"type", std::string(ext4::type_word(s.stat.type))},
                      {"mode", mode_octal(s.stat.mode)},
                      {"uid", s.stat.uid},
                      {"gid", s.stat.gid},
                      {"size", s.stat.size}};
  if (s.stat.type == ext4::FileType::symlink) j["target"] = s.stat.symlink_target;
  if (!s.sha256.empty()) j["sha256"] = s.sha256;
  return j;
}

std::string join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

// "/a/b/" and "/a//b" -> "/a/b"; "/" stays.
std::string normalise(const std::string& path) {
  std::string out = "/";
  for (const auto& c : ext4::split_guest_path(path)) {
    if (c == "." || c == "..")
      throw Error(Exit::usage, "bad_path",
                  fmt::format("--path '{}': use a path without '.' or '..'", path));
    out = join(out, c);
  }
  return out;
}

bool under(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return true;
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          path[prefix.size()] == '/');
}

struct Differ {
  const ext4::Image& a;
  const ext4::Image& b;
  const DiffOptions& opts;
  const std::function<void(const Difference&)>& each;
  DiffStats stats;
  std::vector<char> buf_a = std::vector<char>(1u << 20);
  std::vector<char> buf_b = std::vector<char>(1u << 20);

  void count(const std::string& path) {
    if (++stats.entries > opts.limits.max_entries)
      throw Error(Exit::exhausted, "too_many_entries",
                  fmt::format("comparing '{}' and '{}': more than {} entries (at '{}'); raise "
                              "--max-entries or narrow the comparison with --path",
                              a.path().string(), b.path().string(), opts.limits.max_entries, path));
  }
  void depth_check(const std::string& path, int depth) const {
    if (depth > opts.limits.max_depth)
      throw Error(Exit::exhausted, "too_deep",
                  fmt::format("comparing '{}' and '{}': '{}' is deeper than {} folders (a "
                              "damaged image, or raise --max-depth)",
                              a.path().string(), b.path().string(), path, opts.limits.max_depth));
  }

  void report(Difference d) {
    ++stats.differences;
    each(d);
  }

  // Every entry under a folder that only one image has.
  void one_sided(const ext4::Image& img, const std::string& path, Change change, int depth) {
    depth_check(path, depth);
    for (const auto& d : img.list(path)) {
      const std::string p = join(path, d.name);
      count(p);
      Difference diff{p, change, {}, {}, {}};
      const ext4::Stat st = img.stat_inode(d.inode);
      (change == Change::added ? diff.b : diff.a) = DiffSide{st, {}};
      report(std::move(diff));
      if (st.type == ext4::FileType::directory) one_sided(img, p, change, depth + 1);
    }
  }

  std::string digest(const ext4::Image& img, std::uint32_t inode) {
    auto r = img.open_reader(inode);
    inject::Sha256 h;
    for (;;) {
      const std::size_t n = r->read(buf_a.data(), buf_a.size());
      if (n == 0) break;
      h.update(std::string_view(buf_a.data(), n));
    }
    return h.hex();
  }

  // Streams both files side by side; stops at the first different chunk.
  bool same_content(std::uint32_t ia, std::uint32_t ib) {
    ++stats.files_compared;
    auto ra = a.open_reader(ia);
    auto rb = b.open_reader(ib);
    for (;;) {
      const std::size_t na = ra->read(buf_a.data(), buf_a.size());
      const std::size_t nb = rb->read(buf_b.data(), buf_b.size());
      stats.bytes_compared += na + nb;
      if (na != nb || std::memcmp(buf_a.data(), buf_b.data(), na) != 0) return false;
      if (na == 0) return true;
    }
  }

  void entry(const std::string& path, const ext4::Stat& sa, const ext4::Stat& sb, int depth) {
    Difference d{path, Change::changed, {}, DiffSide{sa, {}}, DiffSide{sb, {}}};
    if (sa.type != sb.type) {
      d.fields.push_back("type");
      report(std::move(d));
      if (sa.type == ext4::FileType::directory) one_sided(a, path, Change::removed, depth + 1);
      if (sb.type == ext4::FileType::directory) one_sided(b, path, Change::added, depth + 1);
      return;
    }
    if (sa.mode != sb.mode) d.fields.push_back("mode");
    if (sa.uid != sb.uid) d.fields.push_back("uid");
    if (sa.gid != sb.gid) d.fields.push_back("gid");
    if (sa.type == ext4::FileType::regular) {
      if (sa.size != sb.size) {
        d.fields.push_back("size");
      } else if (sa.size > 0 && !same_content(sa.inode, sb.inode)) {
        d.fields.push_back("content");
        d.a->sha256 = digest(a, sa.inode);
        d.b->sha256 = digest(b, sb.inode);
      }
    } else if (sa.type == ext4::FileType::symlink && sa.symlink_target != sb.symlink_target) {
      d.fields.push_back("target");
    }
    if (!d.fields.empty()) report(std::move(d));
    if (sa.type == ext4::FileType::directory) folder(path, depth + 1);
  }

  // Both images have the folder `path`: merge their sorted listings.
  void folder(const std::string& path, int depth) {
    depth_check(path, depth);
    const auto la = a.list(path);
    const auto lb = b.list(path);
    std::size_t i = 0, j = 0;
    while (i < la.size() || j < lb.size()) {
      const bool take_a = j >= lb.size() || (i < la.size() && la[i].name < lb[j].name);
      const bool take_b = i >= la.size() || (j < lb.size() && lb[j].name < la[i].name);
      if (take_a) {
        removed_or_added(a, join(path, la[i].name), la[i].inode, Change::removed, depth);
        ++i;
      } else if (take_b) {
        removed_or_added(b, join(path, lb[j].name), lb[j].inode, Change::added, depth);
        ++j;
      } else {
        const std::string p = join(path, la[i].name);
        count(p);
        count(p);
        entry(p, a.stat_inode(la[i].inode), b.stat_inode(lb[j].inode), depth);
        ++i;
        ++j;
      }
    }
  }

  void removed_or_added(const ext4::Image& img, const std::string& p, std::uint32_t inode,
                        Change change, int depth) {
    count(p);
    const ext4::Stat st = img.stat_inode(inode);
    Difference d{p, change, {}, {}, {}};
    (change == Change::added ? d.b : d.a) = DiffSide{st, {}};
    report(std::move(d));
    if (st.type == ext4::FileType::directory) one_sided(img, p, change, depth + 1);
  }

  void prefix(const std::string& p) {
    auto sa = a.stat(p, ext4::Follow::no);
    auto sb = b.stat(p, ext4::Follow::no);
    if (!sa && !sb)
      throw Error(Exit::usage, "not_found",
                  fmt::format("--path '{}': in neither '{}' nor '{}'", p, a.path().string(),
                              b.path().string()));
    const int depth = static_cast<int>(ext4::split_guest_path(p).size());
    if (p == "/") {
      folder(p, 0);
    } else if (!sb) {
      removed_or_added(a, p, sa->inode, Change::removed, depth);
    } else if (!sa) {
      removed_or_added(b, p, sb->inode, Change::added, depth);
    } else {
      count(p);
      count(p);
      entry(p, *sa, *sb, depth);
    }
  }
};

}  // namespace

nlohmann::json Difference::json() const {
  nlohmann::json j = {{"path", path}, {"change", std::string(change_word(change))}};
  j["fields"] = fields;
  if (a) j["a"] = side_json(*a);
  if (b) j["b"] = side_json(*b);
  return j;
}

std::string Difference::detail() const {
  const DiffSide& s = b ? *b : *a;
  auto kind = [](const ext4::Stat& st) {
    std::string k(ext4::type_word(st.type));
    if (st.type == ext4::FileType::symlink) k += " -> " + st.symlink_target;
    return k;
  };
  if (change == Change::added)
    return fmt::format("{}, {} {}:{}, {} bytes", kind(s.stat), mode_octal(s.stat.mode), s.stat.uid,
                       s.stat.gid, s.stat.size);
  if (change == Change::removed)
    return fmt::format("{}, {} {}:{}, {} bytes", kind(s.stat), mode_octal(s.stat.mode), s.stat.uid,
                       s.stat.gid, s.stat.size);
  std::vector<std::string> parts;
  for (const auto& f : fields) {
    const ext4::Stat &x = a->stat, &y = b->stat;
    if (f == "type")
      parts.push_back(fmt::format("type {} -> {}", kind(x), kind(y)));
    else if (f == "mode")
      parts.push_back(fmt::format("mode {} -> {}", mode_octal(x.mode), mode_octal(y.mode)));
    else if (f == "uid")
      parts.push_back(fmt::format("uid {} -> {}", x.uid, y.uid));
    else if (f == "gid")
      parts.push_back(fmt::format("gid {} -> {}", x.gid, y.gid));
    else if (f == "size")
      parts.push_back(fmt::format("size {} -> {}", x.size, y.size));
    else if (f == "target")
      parts.push_back(fmt::format("target {} -> {}", x.symlink_target, y.symlink_target));
    else if (f == "content")
      parts.push_back(
          fmt::format("content sha256 {} -> {}", a->sha256.substr(0, 12), b->sha256.substr(0, 12)));
  }
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
  return joined;
}

std::string Difference::text() const {
  const char mark = change == Change::added ? '+' : change == Change::removed ? '-' : '~';
  return change == Change::changed ? fmt::format("{} {}  {}", mark, path, detail())
                                   : fmt::format("{} {}  ({})", mark, path, detail());
}

DiffStats diff_images(const ext4::Image& a, const ext4::Image& b, const DiffOptions& opts,
                      const std::function<void(const Difference&)>& each) {
  std::vector<std::string> prefixes;
  for (const auto& p : opts.prefixes) prefixes.push_back(normalise(p));
  if (prefixes.empty()) prefixes.push_back("/");
  std::sort(prefixes.begin(), prefixes.end());
  // Drop a prefix inside another one: each entry is reported once.
  std::vector<std::string> kept;
  for (const auto& p : prefixes)
    if (std::none_of(kept.begin(), kept.end(), [&](const auto& k) { return under(p, k); }))
      kept.push_back(p);
  Differ d{a, b, opts, each, {}};
  for (const auto& p : kept) d.prefix(p);
  return d.stats;
}

}  // namespace vmu::inspect
