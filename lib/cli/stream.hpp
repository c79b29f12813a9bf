// The record pipeline for tools whose records finish in their own time
// (vm-wait-ready): records are taken as they arrive on stdin (or from
// --id) without blocking, so one event loop can wait on input and on
// everything else at once, and each record leaves — saved, then printed —
// when its own work is done, in completion order. Same contract as
// Tool::pipeline: a record that arrives failed passes through untouched
// and is not saved again; a record the tool fails gets its `error` section;
// bad input lines are reported with their line number; a failed record
// named by --id is reported (Tool::take_failed_id) and passed on, or taken
// up again with --retry; a closed stdout is reported in one line naming
// the records never received (saved all the same), exit 1; the exit code
// is that of the first record that failed here.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/output.hpp"
#include "cli/tool.hpp"
#include "record/jsonl.hpp"

namespace vmu::cli {

class RecordStream {
 public:
  // Takes the --id records of `tool` (loaded now), else stdin (which must
  // not be a terminal: Exit::usage). With `writers` > 0, finish() hands the
  // record to that many writer threads (started on first use), so the
  // caller's event loop never waits for an fsync: concurrent fsyncs share
  // the filesystem's journal commits, where one after another each pays
  // its own (100 records at once: seconds on a busy disk).
  explicit RecordStream(Tool& tool, unsigned writers = 0);
  ~RecordStream();
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  // The descriptor to wait on for more input; -1 when there is none (all
  // read, --id, or an input that cannot be polled and is read at once).
  int input_fd() const;
  bool input_done() const { return done_; }

  // Reads what is there without blocking: one read when input_fd() is
  // readable; everything for --id or a regular file. Records that arrived
  // failed are printed at once (a failed --id one reported, or returned
  // to be worked on again with --retry); the others are returned.
  std::vector<Record> read_available();

  // The program reading stdout has gone: nothing more will be received,
  // so there is no point working on more records.
  bool output_gone() { return out_.reader_gone(); }

  // A record this tool worked on: `failure` set adds its `error` section.
  // Saved to the state folder, then printed (by a writer thread, when there
  // are some). The exit code counts it at once.
  void finish(Record rec, const std::optional<RecordError>& failure);

  // Waits until every finished record is saved and printed; rethrows a
  // writer's error. A closed stdout is reported in one line: the records
  // written but not received, and `not_worked` (records taken in but not
  // finished, e.g. still waited for); the exit code is then 1 unless a
  // record failed first.
  void close(const std::vector<std::string>& not_worked = {});

  // The first failure's exit code (0 if none); 130 after an interruption
  // when nothing failed.
  int exit_code() const;

 private:
  struct Job {
    Record rec;
    std::optional<RecordError> failure;
  };
  void take_line(std::string_view line, std::vector<Record>& out);
  void note(Exit code);
  void write(Job& job);

  Tool& tool_;
  State state_;
  RecordOutput out_;
  std::vector<Record> pending_;  // --id records not yet handed out
  bool from_ids_ = false;
  bool pollable_ = false;
  bool done_ = false;
  std::string buf_;
  std::size_t line_no_ = 0;
  bool skipping_ = false;  // inside an overlong line
  Exit first_ = Exit::ok;
  mutable std::mutex mu_;  // first_, the queue
  unsigned writers_ = 0;
  std::deque<Job> queue_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  bool closing_ = false;
  bool reported_ = false;  // the closed stdout, once
  std::exception_ptr writer_error_;
};

}  // namespace vmu::cli
