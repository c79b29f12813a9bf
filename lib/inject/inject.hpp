// agent-inject's engine: turn a Request into concrete actions, validate all
// of them against the host and the image (sources, modes, owners, guest
// paths, free blocks and inodes), and only then write them through
// ext4::Image. Any failed check leaves the image byte-identical.
//
// Order of application: --mkdir, --copy, --symlink, --unit (file, then its
// enablement symlinks), then the env target.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inject/request.hpp"
#include "state/state.hpp"
#include "util/progress.hpp"

namespace vmu::inject {

struct Options {
  bool dry_run = false;
  // Asked until the write phase starts (after validation): true stops with
  // Exit::interrupted and the image unchanged. The writes themselves are not
  // interrupted: an image is never left half-written.
  std::function<bool()> stop = nullptr;
  // Hears "copying into the image" for each host file --copy writes.
  ProgressFn progress = nullptr;
};

struct FileResult {
  std::string path;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;
  std::string sha256;
};

struct UnitResult {
  std::string name;
  std::vector<std::string> enabled_in;  // "multi-user.target.wants"
};

struct Result {
  std::vector<FileResult> files;  // every regular file --copy wrote
  std::vector<UnitResult> units;
  std::optional<std::string> env_file;  // set when env keys were merged
  std::uint32_t env_mode = 0;           // its mode (owner root:root)
  std::vector<std::string> env_keys;    // sorted; never values
  std::vector<std::string> warnings;    // for the tool to print
  std::vector<std::string> plan;        // one line per action; never values
  std::uint64_t blocks_needed = 0;      // the estimate the space check used
  std::uint64_t inodes_needed = 0;
  bool applied = false;
  std::optional<nlohmann::json> reporter;  // agent.reporter, with --reporter
  std::optional<nlohmann::json> journal;   // agent.journal, with --persist-journal

  // The record's `agent` section (DESIGN.md).
  nlohmann::json agent_json() const;
};

// The `agent` section after a run on a record that already has one (a
// second agent-inject adds a unit or an env key): `fresh` merged into
// `before` — env_keys the union (before's order, then the new ones), units
// by name and files by path (fresh's entry replaces before's, the others
// stay: they are still in the image), every other field last-wins (fresh's
// when it has it). A `before` that is not an object is ignored.
nlohmann::json merge_agent(const nlohmann::json& before, const nlohmann::json& fresh);

// Validates and applies `req` to the ext2/3/4 image `image`, holding the
// image lock (lib/image/lock.hpp) for the whole run. Throws vmu::Error:
// Exit::usage for bad input or a refused image (in use, mounted, needs
// recovery), Exit::exhausted ("image_full") with needed and free space,
// Exit::failed for a damaged image, Exit::guest_failed for a symlink loop.
Result inject(const std::filesystem::path& image, const Request& req, const Options& opts);

// Refuses (Exit::usage, "golden_image") when `image` is one of `goldens`.
void refuse_golden(const std::filesystem::path& image,
                   const std::vector<std::filesystem::path>& goldens);
// The rootfs.golden paths of every record in the state folder.
std::vector<std::filesystem::path> known_goldens(const State& state);

}  // namespace vmu::inject
