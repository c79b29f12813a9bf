// What agent-inject is asked to do: the operations from the command line or
// a JSON spec, parsed and checked for form (no image needed). Env VALUES
// are secrets: no message, plan line or record ever shows one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "inject/reporter.hpp"

namespace vmu::inject {

inline constexpr std::string_view kDefaultEnvTarget = "/etc/environment";
inline constexpr std::string_view kUnitDir = "/etc/systemd/system";
// The mode of a file that receives env values (secrets): root's only, even
// when the golden's file was world-readable, unless the operator asks.
inline constexpr std::uint32_t kDefaultEnvMode = 0600;

// --copy SRC:DEST[:MODE[:UID:GID]]. A folder SRC is copied recursively into
// DEST (like `cp -rT`); a DEST ending in '/' receives a file under its own name.
struct CopyOp {
  std::filesystem::path src;
  std::string dest;
  std::optional<std::uint32_t> mode;  // default: the host file's mode
  std::optional<std::uint32_t> uid;   // default: 0
  std::optional<std::uint32_t> gid;
};

// --mkdir DIR[:MODE]
struct MkdirOp {
  std::string path;
  std::uint32_t mode = 0755;
};

// --symlink TARGET:LINK
struct SymlinkOp {
  std::string target;
  std::string link;
};

struct EnvVar {
  std::string key;
  std::string value;  // secret
};

struct Request {
  std::vector<MkdirOp> mkdirs;
  std::vector<CopyOp> copies;
  std::vector<SymlinkOp> symlinks;
  std::vector<std::filesystem::path> units;
  std::vector<EnvVar> env;  // in order; a later value of a key wins
  std::string env_target = std::string(kDefaultEnvTarget);
  std::uint32_t env_mode = kDefaultEnvMode;  // owner root:root
  std::optional<ReporterSpec> reporter;      // --reporter
  bool persist_journal = false;              // --persist-journal

  bool empty() const {
    return mkdirs.empty() && copies.empty() && symlinks.empty() && units.empty() && env.empty() &&
           !reporter && !persist_journal;
  }
  // Appends another request's operations (a spec's, then the flags').
  void merge(Request other, bool take_env_target);
};

// Looks up a variable in the tool's environment (a seam for tests).
using Getenv = std::function<std::optional<std::string>(const std::string&)>;
Getenv process_env();

// Each throws vmu::Error(Exit::usage) quoting the argument (never a value).
CopyOp parse_copy(std::string_view arg);
MkdirOp parse_mkdir(std::string_view arg);
SymlinkOp parse_symlink(std::string_view arg);
EnvVar parse_env(std::string_view arg, const Getenv& getenv);
std::vector<EnvVar> parse_env_file(const std::filesystem::path& file);
// "0755", "755", "4755": 1-4 octal digits.
std::uint32_t parse_mode(std::string_view text, std::string_view what);
std::uint32_t parse_id(std::string_view text, std::string_view what);
// --reporter-port: 1..65535. --reporter-unit: a unit name systemd accepts.
int parse_port(std::string_view text, std::string_view what);
std::string check_unit_name(std::string_view name, std::string_view what);
bool valid_env_key(std::string_view key);

// A guest path: absolute, no "..", no NUL. Returns it normalised ("/a/b").
std::string check_guest_path(std::string_view path, std::string_view what);

// The --spec document (schema in docs and agent-inject(1)):
// {"version":1, "mkdir":[{"path","mode"}], "copy":[{"src","dest","mode","uid","gid"}],
//  "symlink":[{"target","link"}], "unit":["FILE"], "env":{"KEY":"VALUE"|null},
//  "env_file":["FILE"], "env_target":"/etc/environment",
//  "reporter": true | {"port":8080, "units":["NAME"]}, "persist_journal": true}
// Relative host paths are relative to the spec file's folder.
Request parse_spec(const nlohmann::json& spec, const std::filesystem::path& base_dir,
                   const Getenv& getenv);
Request load_spec(const std::filesystem::path& file, const Getenv& getenv);

}  // namespace vmu::inject
