// The shared tool skeleton. A tool is its options, one library call, and its
// output; everything every tool does alike lives here:
//   --help (80 columns), --version, -q/-v, --state-dir, --id, the hidden
//   --completion SHELL; parsing errors -> exit 2; the one catch that turns
//   vmu::Error into a message and an exit code; SIGINT/SIGTERM -> 130;
//   the record pipeline (stdin or --id in, saved and printed out).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/log.hpp"
#include "record/record.hpp"
#include "state/state.hpp"

namespace vmu::cli {

class Tool {
 public:
  Tool(std::string name, std::string summary);

  CLI::App& app() { return app_; }
  Log& log() { return log_; }
  const std::string& name() const { return name_; }

  // Adds a subcommand that accepts the tool's common options after it too.
  CLI::App* add_subcommand(const std::string& name, const std::string& summary);
  // --id ID (repeatable when `many`): VMs named instead of records on stdin.
  void add_id_option(CLI::App* where, const std::string& help, bool many = false);

  const std::vector<std::string>& ids() const { return ids_; }
  bool has_ids() const { return !ids_.empty(); }
  // The state folders, resolved from --state-dir and the environment.
  State state() const { return State::resolve(state_dir_); }

  // Parses argv and runs `body`, mapping every error to its exit code.
  int main(int argc, char** argv, const std::function<int()>& body);

  // When a processed record is saved to the state folder.
  enum class Save {
    always,           // every tool that changes a VM
    if_state_exists,  // not when the VM's folder is gone (it would be made again)
    never,            // vm-destroy: the folder is being removed
  };
  struct PipelineOptions {
    unsigned jobs = 1;  // records worked on at once
    // `fn` also gets records that arrived failed (tools that work on
    // failed VMs: vm-logs-archive, vm-destroy). Their `error` section is
    // kept as it came even when `fn` fails too; that failure is reported
    // on stderr and in the exit code.
    bool take_failed = false;
    Save save = Save::always;
    // The VMs to work on, loaded from the state folder, instead of --id or
    // stdin (positional ids, a selection such as --failed). Set, even
    // empty, stdin is not read.
    std::optional<std::vector<std::string>> ids = std::nullopt;
    // An id without a state folder becomes a bare record {v, id} instead
    // of bad input (vm-destroy: a VM already gone is not an error).
    bool missing_ok = false;
  };
  // Runs `fn` on each record: the --id ones loaded from the state folder,
  // else JSON Lines from stdin. A record that arrives failed is passed on
  // untouched (unless `take_failed`); one that `fn` fails gets its `error`
  // section. Each is saved to the state folder (see `save`), then printed.
  // Returns the exit code of the first record that failed here (0 if none).
  int pipeline(const std::function<void(Record&)>& fn, PipelineOptions opts);

  // True once SIGINT or SIGTERM arrived; long waits check it.
  static bool interrupted();
  // The body finished work that a signal must not cut short (a write that
  // would otherwise be left half-done): main() then returns the body's code
  // instead of 130, and the tool says why on stderr.
  void finished_despite_interrupt() { late_interrupt_ok_ = true; }

 private:
  std::string name_;
  CLI::App app_;
  Log log_;
  std::optional<std::string> state_dir_;
  std::vector<std::string> ids_;
  int verbose_ = 0;
  bool late_interrupt_ok_ = false;
  int quiet_ = 0;
};

// Shell completion scripts generated from an app's option table.
std::string completion_script(const CLI::App& app, const std::string& shell);

// Formats --help within 80 columns, wrapping descriptions.
std::shared_ptr<CLI::Formatter> make_formatter();

}  // namespace vmu::cli
