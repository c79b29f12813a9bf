#include "evidence/retention.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "record/record.hpp"
#include "util/error.hpp"

namespace vmu::evidence {

namespace {

constexpr std::string_view kSuffix = ".tar.gz";
constexpr std::size_t kStampLen = 16;  // YYYYMMDDTHHMMSSZ

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool stamp_ok(std::string_view s) {
  return s.size() == kStampLen && digits(s.substr(0, 8)) && s[8] == 'T' && digits(s.substr(9, 6)) &&
         s[15] == 'Z';
}

}  // namespace

std::string archive_name(const std::string& id, SysTime t, unsigned n) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::string stamp = fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900,
                                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return n == 0 ? fmt::format("{}-{}{}", id, stamp, kSuffix)
                : fmt::format("{}-{}-{}{}", id, stamp, n, kSuffix);
}

std::optional<ArchiveName> parse_archive_name(std::string_view s) {
  if (!s.ends_with(kSuffix)) return std::nullopt;
  s.remove_suffix(kSuffix.size());
  ArchiveName a;
  // An optional "-N" after the stamp: the stamp ends in 'Z'.
  if (const auto dash = s.rfind('-'); dash != std::string_view::npos && dash > 0 &&
                                      dash + 1 < s.size() && digits(s.substr(dash + 1)) &&
                                      s[dash - 1] == 'Z') {
    const std::string_view num = s.substr(dash + 1);
    if (num.size() > 6) return std::nullopt;
    std::from_chars(num.data(), num.data() + num.size(), a.n);
    if (a.n == 0) return std::nullopt;
    s = s.substr(0, dash);
  }
  if (s.size() < kStampLen + 2) return std::nullopt;
  const std::string_view stamp = s.substr(s.size() - kStampLen);
  if (!stamp_ok(stamp) || s[s.size() - kStampLen - 1] != '-') return std::nullopt;
  const std::string_view id = s.substr(0, s.size() - kStampLen - 1);
  if (!valid_vm_id(id)) return std::nullopt;
  a.id = std::string(id);
  a.stamp = std::string(stamp);
  return a;
}

std::vector<std::string> plan_prune(std::vector<ArchiveFile> files, std::optional<std::size_t> keep,
                                    std::optional<std::uint64_t> max_bytes,
                                    const std::string& protect) {
  struct Item {
    ArchiveFile f;
    ArchiveName n;
  };
  std::vector<Item> items;
  for (auto& f : files)
    if (auto n = parse_archive_name(f.name)) items.push_back({std::move(f), std::move(*n)});
  // Oldest first.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.n.stamp != b.n.stamp) return a.n.stamp < b.n.stamp;
    if (a.n.n != b.n.n) return a.n.n < b.n.n;
    return a.f.name < b.f.name;
  });
  std::uint64_t total = 0;
  for (const auto& i : items) total += i.f.size;
  std::size_t count = items.size();
  std::vector<std::string> out;
  for (const auto& i : items) {
    const bool too_many = keep && count > *keep;
    const bool too_big = max_bytes && total > *max_bytes;
    if (!too_many && !too_big) break;
    if (i.f.name == protect) continue;
    out.push_back(i.f.name);
    total -= i.f.size;
    --count;
  }
  return out;
}

std::vector<Pruned> prune(const fs::path& dir, std::optional<std::size_t> keep,
                          std::optional<std::uint64_t> max_bytes, const std::string& protect) {
  std::vector<Pruned> out;
  if (!keep && !max_bytes) return out;
  std::vector<ArchiveFile> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code ec2;
    if (!e.is_regular_file(ec2) || e.is_symlink(ec2)) continue;
    const std::string name = e.path().filename().string();
    if (!parse_archive_name(name)) continue;
    const auto size = e.file_size(ec2);
    if (ec2) continue;
    files.push_back({name, size});
  }
  if (ec)
    throw Error(Exit::failed,
                fmt::format("listing archive folder '{}': {}", dir.string(), ec.message()));
  std::map<std::string, std::uint64_t> sizes;
  for (const auto& f : files) sizes[f.name] = f.size;
  for (const auto& name : plan_prune(files, keep, max_bytes, protect)) {
    const fs::path p = dir / name;
    if (!fs::remove(p, ec) && ec)
      throw Error(Exit::failed,
                  fmt::format("removing old archive '{}': {}", p.string(), ec.message()));
    out.push_back({p, sizes[name]});
  }
  return out;
}

}  // namespace vmu::evidence
