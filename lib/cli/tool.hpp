// The shared tool skeleton. A tool is its options, one library call, and its
// output; everything every tool does alike lives here:
//   --help (80 columns: groups, examples, exit codes), --version, -q/-v,
//   --state-dir, --color, --id [--retry], the hidden --completion SHELL and
//   --complete-ids; unknown options and subcommands refused with "did you
//   mean", options of another subcommand refused; parsing errors -> exit 2;
//   the one catch that turns vmu::Error into a message and an exit code;
//   SIGINT/SIGTERM -> 130; the record pipeline (stdin or --id in, saved and
//   printed out; failed --id records reported; a closed stdout reported);
//   listing output (--json, -o, --no-legend); progress lines.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command_line.hpp"
#include "cli/log.hpp"
#include "cli/table.hpp"
#include "record/record.hpp"
#include "state/state.hpp"
#include "util/progress.hpp"

namespace vmu::cli {

// Whether --id offers --retry (pipeline tools do; a tool that creates the VM
// or acts on failed VMs does not).
enum class Retry { offered, none };

class Tool {
 public:
  Tool(std::string name, std::string summary);

  CLI::App& app() { return app_; }
  Log& log() { return log_; }
  const std::string& name() const { return name_; }

  // Adds a subcommand. It accepts the common options (before or after it)
  // and those of the tool's options given to share(); any other option of
  // the tool is refused with it.
  CLI::App* add_subcommand(const std::string& name, const std::string& summary);
  // `sub` also takes the tool-level option `opt` (vmnet-alloc list --pool).
  void share(CLI::Option* opt, CLI::App* sub) { cl_.share(opt, sub); }
  // `sub` takes every tool-level option (the default subcommand).
  void share_all(CLI::App* sub) { cl_.share_all(sub); }
  // An example for --help of `where` (the tool or a subcommand).
  void add_example(CLI::App* where, std::string command, std::string what);

  // --id ID (one id each, repeatable when `many`): VMs named instead of
  // records on stdin; completed with the VM ids of the state folder. With
  // `many` and Retry::offered, --retry too (see pipeline()).
  void add_id_option(CLI::App* where, const std::string& help, bool many = false,
                     Retry retry = Retry::offered);

  // --json, -o/--output COLUMNS and --no-legend on the listing command
  // `where`, whose rows have `columns` (all -o may name); `shown`: the
  // headers shown without -o (empty: all). Print through the returned Table.
  Table& add_table_options(CLI::App* where, std::vector<Column> columns,
                           std::vector<std::string> shown = {});

  const std::vector<std::string>& ids() const { return ids_; }
  bool has_ids() const { return !ids_.empty(); }
  bool retry() const { return retry_; }
  // The state folders, resolved from --state-dir and the environment; with
  // $VMUTILS_STORE naming etcd, every record saved is mirrored there too
  // (one registry per tool, opened on first use).
  State state() const;
  ColorWhen color() const { return color_; }

  // A ProgressFn for the library that shows the slow steps of VM `key`
  // (cli/progress.hpp); steps under `min_bytes` are not mentioned.
  ProgressFn progress(std::string key, std::uint64_t min_bytes = 0);

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
  // else JSON Lines from stdin (a line that is not a record is reported
  // with its number and skipped). A record that arrives failed is passed
  // on untouched (unless `take_failed`); one that `fn` fails gets its `error` section. Each is
  // saved to the state folder, then printed. A VM named by --id whose
  // record is failed is reported (which tool failed it, why, what to run)
  // and exits with its code, unless --retry: then its `error` is cleared
  // and `fn` runs again. A closed stdout stops the run: one line on
  // stderr names the records not passed on (saved all the same), exit 1.
  // Returns the exit code of the first record that failed here (0 if none).
  int pipeline(const std::function<void(Record&)>& fn, PipelineOptions opts);

  // The records pipeline() would work on, for a step that saves and prints
  // nothing of them (fc-launch --dry-run): `fn` gets each one not failed;
  // failed --id records and bad lines are reported as by pipeline(). Returns
  // the exit code of the first failure (those `fn` throws included).
  int for_each_record(const std::function<void(const Record&)>& fn);

  // The record of the one VM named by --id, as saved, failed or not (for
  // read-only tools such as rootfs-inspect --id).
  Record id_record() const;

  // True once SIGINT or SIGTERM arrived; long waits check it.
  static bool interrupted();
  // The body finished work that a signal must not cut short (a write that
  // would otherwise be left half-done): main() then returns the body's code
  // instead of 130, and the tool says why on stderr.
  void finished_despite_interrupt() { late_interrupt_ok_ = true; }

  // Reports a closed stdout in one line (listing commands: nothing lost).
  void report_closed_stdout(const std::string& what);
  // Reports a closed stdout under a record pipeline in one line: the
  // records written but never received (`lost`, saved all the same) and
  // those not worked on. Nothing when both are empty; returns whether it
  // said something (the run then exits 1 unless a record failed first).
  bool report_unreceived(const std::vector<std::string>& lost,
                         const std::vector<std::string>& not_worked);

  // For a tool with its own record loop (cli::RecordStream): a failed
  // record named by --id is reported (which tool failed it, why, what to
  // run) and its error code returned, to be noted and the record passed on
  // as it is; with --retry (and an error not from an earlier step) its
  // error is cleared and Exit::ok returned: work on it. pipeline() and
  // for_each_record() do this themselves.
  Exit take_failed_id(Record& rec);

 private:
  int complete_ids(int argc, char** argv);

  std::string name_;
  CLI::App app_;
  CommandLine cl_;
  Log log_;
  std::optional<std::string> state_dir_;
  std::vector<std::string> ids_;
  mutable std::once_flag registry_once_;
  mutable std::shared_ptr<RecordRegistry> registry_;
  int verbose_ = 0;
  bool late_interrupt_ok_ = false;
  int quiet_ = 0;
  bool retry_ = false;
  CLI::Option* retry_opt_ = nullptr;
  std::string color_word_ = "auto";
  ColorWhen color_ = ColorWhen::automatic;
  std::deque<Table> tables_;
};

// Shell completion scripts generated from a tool's option table.
std::string completion_script(const CommandLine& cl, const std::string& shell);

// Formats --help within 80 columns, wrapping descriptions; with the command
// line's extras: option groups, shared and common options, examples.
std::shared_ptr<CLI::Formatter> make_formatter();
std::shared_ptr<CLI::Formatter> make_formatter(const CommandLine& cl);

}  // namespace vmu::cli
