// vm-logs-archive's members on their way into the archive: a private
// staging folder whose members are written through the redactor and hashed
// (Staging, Staging::Writer), host files copied as far as they are now
// (copy_host_file), and the staged members written as one .tar.gz through
// libarchive, hashed on the way (write_tar). Internal to lib/evidence.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evidence/archive.hpp"
#include "evidence/redact.hpp"
#include "inject/sha256.hpp"
#include "util/fd.hpp"

namespace vmu::evidence {

namespace fs = std::filesystem;

// The names of a run's staging folder and temporary archive in the output
// folder (a killed run's are removed by remove_stale).
inline constexpr std::string_view kStagePrefix = ".vmu-stage-";
inline constexpr std::string_view kTempPrefix = ".vmu-archive-";

// A private folder for the staged members, removed with everything in it.
class Staging {
 public:
  Staging(const fs::path& out_dir, std::vector<RedactRule> rules);
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const fs::path& dir() const { return dir_; }

  // One member being written: source bytes in, redacted bytes staged.
  class Writer {
   public:
    Writer(Staging& s, std::string name, std::string source, std::uint64_t limit);
    // False once the limit is reached (the rest is dropped, the member
    // marked truncated).
    bool write(std::string_view in);
    Member close();

   private:
    void emit();
    Staging& s_;
    Redactor redactor_;
    std::uint64_t limit_;
    std::uint64_t in_ = 0;
    Member m_;
    fs::path path_;
    Fd fd_;
    inject::Sha256 hash_;
    std::string out_;
  };

  Member add_text(const std::string& name, const std::string& source, std::string_view text);

  struct Staged {
    Member member;
    fs::path path;
  };
  const std::vector<Staged>& members() const { return members_; }
  std::uint64_t replacements() const { return replacements_; }
  const std::vector<RedactRule>& rules() const { return rules_; }

 private:
  fs::path dir_;
  std::vector<RedactRule> rules_;
  std::vector<Staged> members_;
  std::size_t open_ = 0;
  std::uint64_t replacements_ = 0;
};

// Copies a host file up to its size now (a log still being written is
// copied as far as it is), calling `also` with each chunk too; appends the
// member to `members`. Why not, when it cannot be read.
std::optional<std::string> copy_host_file(Staging& st, const std::string& name, const fs::path& p,
                                          std::uint64_t limit,
                                          const std::function<void(std::string_view)>& also,
                                          std::vector<Member>& members);

// Stale staging folders and temporary archives of killed runs (over an hour old).
void remove_stale(const fs::path& dir);

// libarchive's output: to the temporary file, hashed on the way.
struct TarOut {
  int fd = -1;
  fs::path path;
  inject::Sha256 hash;
  std::uint64_t size = 0;
  int err = 0;
};

// Writes `entries` (member name, staged file) to out.fd as a .tar.gz.
void write_tar(const std::vector<std::pair<std::string, fs::path>>& entries, TarOut& out);

}  // namespace vmu::evidence
