// The record pipeline for tools whose records finish in their own time
// (vm-wait-ready): records are taken as they arrive on stdin (or from
// --id) without blocking, so one event loop can wait on input and on
// everything else at once, and each record leaves — saved, then printed —
// when its own work is done, in completion order. Same contract as
// Tool::pipeline: a record that arrives failed passes through untouched
// and is not saved again; a record the tool fails gets its `error` section;
// bad input lines are reported with their line number; the exit code is
// that of the first record that failed here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/tool.hpp"
#include "record/jsonl.hpp"

namespace vmu::cli {

class RecordStream {
 public:
  // Takes the --id records of `tool` (loaded now), else stdin (which must
  // not be a terminal: Exit::usage).
  explicit RecordStream(Tool& tool);

  // The descriptor to wait on for more input; -1 when there is none (all
  // read, --id, or an input that cannot be polled and is read at once).
  int input_fd() const;
  bool input_done() const { return done_; }

  // Reads what is there without blocking: one read when input_fd() is
  // readable; everything for --id or a regular file. Records that arrived
  // failed are printed at once; the others are returned to be worked on.
  std::vector<Record> read_available();

  // A record this tool worked on: `failure` set adds its `error` section.
  // Saved to the state folder, then printed.
  void finish(Record rec, const std::optional<RecordError>& failure);

  // The first failure's exit code (0 if none); 130 after an interruption
  // when nothing failed.
  int exit_code() const;

 private:
  void take_line(std::string_view line, std::vector<Record>& out);
  void note(Exit code);

  Tool& tool_;
  State state_;
  LineWriter out_;
  std::vector<Record> pending_;  // --id records not yet handed out
  bool from_ids_ = false;
  bool pollable_ = false;
  bool done_ = false;
  std::string buf_;
  std::size_t line_no_ = 0;
  bool skipping_ = false;  // inside an overlong line
  Exit first_ = Exit::ok;
};

}  // namespace vmu::cli
