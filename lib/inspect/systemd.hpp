// The parts of systemd's file formats a static preflight needs, parsed as
// systemd parses them: unit files with their drop-ins, Exec*= command lines,
// Environment= assignments, EnvironmentFile= files, /etc/passwd and
// /etc/group. Pure text in, values out: no image access here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmu::inspect {

// One `Key=Value` line of a unit file (or drop-in).
struct UnitSetting {
  std::string section;  // "Service", without brackets
  std::string key;
  std::string value;  // trimmed; continuation lines joined with a space
  std::string file;   // guest path it came from
  std::size_t line = 0;
};

// A unit file and its drop-ins, in the order systemd applies them.
class UnitConfig {
 public:
  // Appends the settings of one file (the unit file first, then each
  // drop-in in order).
  void add_file(std::string_view text, const std::string& file);

  // Every value of a list setting, with systemd's rule that an empty
  // assignment resets the list.
  std::vector<const UnitSetting*> all(std::string_view section, std::string_view key) const;
  // The effective value of a single-valued setting (the last assignment).
  const UnitSetting* last(std::string_view section, std::string_view key) const;
  // Space-separated words of every assignment of a list setting such as
  // After= or Wants= (resets honoured).
  std::vector<std::string> words(std::string_view section, std::string_view key) const;

  const std::vector<UnitSetting>& settings() const { return settings_; }

 private:
  std::vector<UnitSetting> settings_;
};

// An ExecStart=-style command line.
struct ExecCommand {
  std::string prefixes;  // the special prefix characters: "-", "@", "+", "!", "!!", ":", "|"
  std::string path;      // the executable as written (may be relative: searched in PATH)
  std::vector<std::string> args;  // argv[1..]
  bool ignore_failure() const { return prefixes.find('-') != std::string::npos; }
};
// Parses one command line; std::nullopt for an empty value.
std::optional<ExecCommand> parse_exec(std::string_view value);

// Splits systemd-style quoted words: "a b" 'c' d -> [a b, c, d].
std::vector<std::string> split_quoted(std::string_view value);

// The KEYs of an Environment= value (`"A=1 2" B=3` -> A, B); words without
// '=' or with an invalid name are skipped.
std::vector<std::string> environment_keys(std::string_view value);

// A variable name systemd accepts: [A-Za-z_][A-Za-z0-9_]*.
bool valid_env_name(std::string_view name);

// One line of an environment file (EnvironmentFile=, /etc/environment).
struct EnvLine {
  std::string key;
  std::size_t line = 0;
  bool valid = true;  // false: systemd ignores the line ("export KEY=...", bad name)
};
// Keys of an environment file; values are never kept.
std::vector<EnvLine> parse_env_file(std::string_view text);

struct PasswdEntry {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string home;
};
struct GroupEntry {
  std::string name;
  std::uint32_t gid = 0;
  std::vector<std::string> members;
};
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

// The unit folders of an image, in systemd's order of precedence.
inline constexpr std::string_view kUnitDirs[] = {"/etc/systemd/system", "/lib/systemd/system",
                                                 "/usr/lib/systemd/system"};
// The PATH systemd gives services (and searches for a relative ExecStart=).
inline constexpr std::string_view kServicePath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace vmu::inspect
