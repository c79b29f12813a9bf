// Archive names and retention. An archive is "<id>-<YYYYMMDDTHHMMSSZ>.tar.gz"
// (UTC; "-N" before ".tar.gz" when a name of that second is taken).
// Pruning looks only at files of one folder whose names match that form;
// anything else there is never touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.hpp"

namespace vmu::evidence {

namespace fs = std::filesystem;

// "vm-3f9c2a1b-20261126T012657Z.tar.gz" (n = 0), "...Z-2.tar.gz" (n = 2).
std::string archive_name(const std::string& id, SysTime t, unsigned n = 0);

struct ArchiveName {
  std::string id;
  std::string stamp;  // "20261126T012657Z"
  unsigned n = 0;
};
// std::nullopt for a name that is not an archive's.
std::optional<ArchiveName> parse_archive_name(std::string_view file_name);

struct ArchiveFile {
  std::string name;
  std::uint64_t size = 0;
};

// Which archives to remove, oldest first (by the time in the name, then
// the suffix, then the name), so that at most `keep` remain and they hold
// at most `max_bytes` together. `protect` (the archive just made) is never
// chosen, even when it alone is over `max_bytes`. Names that are not
// archives' are ignored. Pure: for tests and --dry-run-like use.
std::vector<std::string> plan_prune(std::vector<ArchiveFile> files, std::optional<std::size_t> keep,
                                    std::optional<std::uint64_t> max_bytes,
                                    const std::string& protect = {});

struct Pruned {
  fs::path path;
  std::uint64_t size = 0;
};
// Lists `dir`, plans and removes. Throws Exit::failed naming a file that
// cannot be removed.
std::vector<Pruned> prune(const fs::path& dir, std::optional<std::size_t> keep,
                          std::optional<std::uint64_t> max_bytes, const std::string& protect = {});

}  // namespace vmu::evidence
