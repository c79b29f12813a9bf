// What CLI11 does not know about a tool's command line, shared by the
// argument check, --help and the completions, so the three agree:
//   - the common options (-q, -v, --state-dir, --color, --help...), which
//     every subcommand accepts;
//   - the tool's other options that a subcommand accepts too
//     (`vmnet-alloc list --pool`); any other option of the tool given with a
//     subcommand is refused, not silently ignored;
//   - the examples --help shows.
// Subcommands are one level deep (TOOL SUB [OPTIONS]).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vmu::cli {

struct Example {
  std::string command;  // as typed, e.g. "vmnet-alloc --pool 192.168.100.0/24 --count 4"
  std::string what;     // one sentence
};

class CommandLine {
 public:
  explicit CommandLine(CLI::App& app) : app_(app) {}

  CLI::App& app() const { return app_; }

  void add_common(const CLI::Option* opt) { common_.insert(opt); }
  bool is_common(const CLI::Option* opt) const { return common_.contains(opt); }
  // `sub` accepts the tool-level option `opt` (given before or after it).
  void share(const CLI::Option* opt, const CLI::App* sub) { shared_[opt].insert(sub); }
  // `sub` accepts every tool-level option (the default subcommand).
  void share_all(const CLI::App* sub) { share_all_.insert(sub); }
  bool accepts(const CLI::App* sub, const CLI::Option* tool_opt) const;

  void add_example(const CLI::App* where, Example e) { examples_[where].push_back(std::move(e)); }
  const std::vector<Example>& examples(const CLI::App* where) const;

  // The options one can give on `where`'s command line, grouped: its own,
  // the tool's that it accepts (none for the tool itself), the common ones.
  // Hidden options (no group) and positionals are left out.
  struct Options {
    std::vector<const CLI::Option*> own, shared, common;
  };
  Options options_of(const CLI::App* where) const;
  // Its positionals.
  std::vector<const CLI::Option*> positionals_of(const CLI::App* where) const;
  // The subcommands, in definition order.
  std::vector<const CLI::App*> subcommands() const;

  // Checks argv (argv[0] the tool) before CLI11 parses it: an unknown
  // option or subcommand is refused with "did you mean", an option of
  // another subcommand is refused naming the subcommand it belongs to.
  // Throws Exit::usage.
  void check(int argc, const char* const* argv) const;

 private:
  CLI::App& app_;
  std::set<const CLI::Option*> common_;
  std::map<const CLI::Option*, std::set<const CLI::App*>> shared_;
  std::set<const CLI::App*> share_all_;
  std::map<const CLI::App*, std::vector<Example>> examples_;
};

// "-n, --count": every name of an option.
std::vector<std::string> option_names(const CLI::Option* opt);

}  // namespace vmu::cli
