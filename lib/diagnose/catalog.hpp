// The catalog: every console pattern vm-wait-ready (and, offline,
// vm-logs-archive) knows, kept as data in one table (catalog.cpp) and
// documented in vm-wait-ready(1), whose catalog section a test checks
// against this table. Each entry has a stable id, a kind, a cheap literal
// `needle` that must occur in the line before its regex is tried (a boot
// prints ~1000 lines; most match nothing), and words for the operator.
#pragma once

#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmu::diagnose {

enum class Kind {
  failure,    // the guest cannot become ready: a verdict at once (`name` is the reason)
  milestone,  // a step of a healthy boot (`name` is the milestone)
  unit,       // something systemd says about one unit (`event`); the analysis decides
  warning,    // worth showing, never a verdict by itself
  info,       // progress ("a start job is running ..."), kept for the live line
};
std::string_view kind_word(Kind k);

// What a `unit` pattern says; capture 1 is the unit (or the status line's
// subject, "NAME - Description" or a bare description).
enum class UnitEvent {
  none,
  starting,           // "Starting X..."
  started,            // "Started X."
  failed_to_start,    // "Failed to start X."
  dependency_failed,  // "Dependency failed for X."
  main_exited,        // "X: Main process exited, code=C, status=N/NAME"
  control_exited,     // "X: Control process exited, ..." (ExecStartPre= and friends)
  result,             // "X: Failed with result 'R'."
  exec_locate,        // "X: Failed to locate executable P: E"
  exec_step,          // "X: Failed at step S spawning P: E"
  env_files,          // "X: Failed to load environment files: E"
  spawn_failed,       // "X: Failed to spawn 'start' task: E"
  start_limit,        // "X: Start request repeated too quickly."
  restart_scheduled,  // "X: Scheduled restart job, restart counter is at N."
  oom_killed,         // "X: A process of this unit has been killed by the OOM killer."
  timed_out,          // "X: start operation timed out. Terminating."
  bad_setting,        // "X: Service has no ExecStart=..." (the unit cannot be loaded)
  deactivated,        // "X: Deactivated successfully." (the main process ended with 0)
  memcg_oom,          // the kernel's "oom-kill:...task_memcg=/system.slice/X,task=COMM"
  kernel_oom,         // "Out of memory: Killed process PID (COMM)"
};

struct PatternDef {
  std::string_view id;  // stable, documented
  Kind kind;
  std::string_view name;    // failure: reason; milestone: its name; warning/info: a word
  UnitEvent event;          // unit patterns only
  std::string_view needle;  // must occur in the line ("" = always try the regex)
  std::string_view regex;   // ECMAScript (std::regex), searched anywhere in the line
  std::string_view words;   // for the operator; {0} the match, {1}.. captures
};

struct Pattern {
  PatternDef def;
  std::regex re;
  bool user = false;  // from --fail-on / --ready-on
  std::string user_regex;
};

// One line's match of one pattern.
struct Match {
  const Pattern* pattern = nullptr;
  std::vector<std::string> groups;  // [0] the whole match
  std::string words() const;        // def.words with the captures filled in
};

// The built-in table, in matching order (more specific entries first).
std::span<const PatternDef> builtin_patterns();

// The compiled catalog: the built-ins plus user patterns.
class Catalog {
 public:
  Catalog();
  // --fail-on REGEX: a failure with reason "fail_on"; --ready-on REGEX: a
  // milestone "ready_on". Throws Exit::usage quoting a bad regex.
  void add_fail_on(const std::string& regex);
  void add_ready_on(const std::string& regex);

  // Every pattern matching `line`: at most one failure (the first in table
  // order), every milestone, unit event, warning and info.
  std::vector<Match> match(std::string_view line) const;

  const std::vector<Pattern>& patterns() const { return patterns_; }

 private:
  std::vector<Pattern> patterns_;
};

// systemd's service exit statuses in words (systemd.exec(5), "Process Exit
// Codes"): 203 -> "EXEC: the program could not be executed (execve failed:
// most likely a missing or non-executable file)". std::nullopt for codes
// without a documented meaning.
std::optional<std::string> exit_status_words(int status);
// "status=203/EXEC" as printed by systemd, with code=exited|killed|dumped,
// in words: "exited with status 203/EXEC: the program could not be ...",
// "killed by signal 9/KILL", "dumped core on signal 11/SEGV".
std::string describe_exit(std::string_view code, int status, std::string_view name);

}  // namespace vmu::diagnose
