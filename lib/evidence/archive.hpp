// vm-logs-archive's engine: one .tar.gz of a VM's evidence, written under a
// temporary name and linked into place only when complete (never a half
// archive under an archive's name), with every text member redacted by
// value and listed in manifest.json with its size and SHA-256. Read-only
// towards the VM: logs are copied up to their current size, the image is
// read through libext2fs (also while the VM runs) and never changed.
//
// Members, under one folder named like the archive:
//   summary.txt          verdict, evidence, milestones, next steps
//   manifest.json        every other member (size, SHA-256, source) and
//                        every item that could not be collected, and why
//   record.json          the record as it came
//   console.log vmm.log  the VMM's serial console and own log
//   rootfs/...           the agent units and their drop-ins, the env file
//   preflight.json       rootfs-inspect check of the agent units
//   reporter.json        the guest reporter's last complete block
//   journal/journal.txt, journal/journal.export   the guest journal
//   host/network.json    the TAP, the bridge, the neighbour entry
//   host/dhcp-host       the VM's DHCP host file
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evidence/retention.hpp"
#include "evidence/summary.hpp"
#include "record/record.hpp"
#include "state/state.hpp"
#include "util/progress.hpp"

namespace vmu::evidence {

// Limits on what one archive takes from its sources.
inline constexpr std::uint64_t kMaxLogBytes = 256ull << 20;      // console.log, vmm.log (head kept)
inline constexpr std::uint64_t kMaxJournalBytes = 512ull << 20;  // journal files copied out
inline constexpr std::uint64_t kMaxExportBytes = 256ull << 20;   // each journal export
inline constexpr std::uint64_t kMaxAnalysedBytes = 64ull << 20;  // console fed to the analysis

struct ArchiveOptions {
  fs::path out_dir;                 // empty: <state>/archive
  std::vector<std::string> redact;  // --redact KEY, besides agent.env_keys
  // Retention of the state's archive folder after this archive is made.
  std::optional<std::size_t> keep;
  std::optional<std::uint64_t> max_bytes;
  // vm-destroy stopped the VMM just before: the guest did not die by
  // itself, and the console is judged up to where the shutdown began.
  bool vmm_stopped_by_caller = false;
  std::string vmm_stop_words;  // "powerdown", ...
  std::optional<std::uint64_t> console_judged_bytes;
  bool rootfs_will_be_removed = false;
  std::string made_by = "vm-logs-archive";
  std::function<bool()> stop;  // asked between members (SIGINT)
  // Hears the one slow step: copying an image whose journal needs replaying.
  ProgressFn progress = nullptr;
};

struct Member {
  std::string name;    // inside the archive's folder: "console.log"
  std::string source;  // where it came from: a host path, "image:/etc/environment", ...
  std::uint64_t size = 0;
  std::string sha256;
  bool truncated = false;
  nlohmann::json to_json() const;
};

struct ArchiveResult {
  fs::path path;
  std::uint64_t size = 0;
  std::string sha256;
  std::string created;
  std::vector<Member> members;
  std::vector<Missing> missing;
  std::vector<std::string> redacted_keys, short_keys, absent_keys;
  std::uint64_t replacements = 0;
  std::string verdict;  // the console analysis in a few words, for stderr
  std::vector<Pruned> pruned;
  // The record's `archive` section: {path, size, sha256, created, members,
  // missing, redacted_keys}.
  nlohmann::json section() const;
};

// Builds the archive of `rec`'s VM. Throws vmu::Error: Exit::failed when
// the archive cannot be written (the temporary file is removed) or when
// there are keys to redact whose values cannot be read from the image
// (refusing to archive text that may hold them); Exit::exhausted for a
// full disk; Exit::interrupted when `stop` turned true.
ArchiveResult make_archive(const Record& rec, const State& st, const ArchiveOptions& opts);

// The manifest document (members, missing items, how the image was read,
// redaction), pure.
nlohmann::json manifest_json(const std::string& id, const std::string& created,
                             const std::string& made_by, const std::vector<Member>& members,
                             const std::vector<Missing>& missing,
                             const std::vector<std::string>& redacted_keys,
                             const std::vector<std::string>& short_keys,
                             const std::vector<std::string>& absent_keys,
                             std::uint64_t replacements, const nlohmann::json& image);

}  // namespace vmu::evidence
