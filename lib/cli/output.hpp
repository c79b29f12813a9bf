// Records out: one whole line per VM on stdout, and what a reader that went
// away (the next program of the pipe exited, e.g. a typo in its name) never
// received. A write that meets EPIPE was not received; neither were lines
// still unread in the pipe when its reader is gone (FIONREAD on the pipe,
// POLLERR on its write end), which a tool learns without waiting for a
// later write to fail.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace vmu::cli {

class RecordOutput {
 public:
  explicit RecordOutput(int fd = STDOUT_FILENO);

  // Writes `line` + '\n' in one go for the VM `id`. False once the reader
  // has gone (this line was not received, nor will any later one be).
  bool write(std::string_view line, const std::string& id);
  // An EPIPE was met.
  bool closed() const;
  // True when the reader has gone: EPIPE met, or (a pipe) poll says so.
  bool reader_gone();
  // The ids of the lines the reader never received, oldest first: the one
  // that met EPIPE and those left unread in the pipe (a line read in part
  // counts as not received). Empty while the reader is there.
  std::vector<std::string> unreceived();

 private:
  int fd_;
  bool pipe_ = false;
  std::size_t window_ = 0;  // the pipe's capacity: older lines were surely read
  mutable std::mutex mu_;
  bool closed_ = false;
  std::string refused_;                                     // the id whose write met EPIPE
  std::deque<std::pair<std::string, std::size_t>> recent_;  // id, bytes, newest last
  std::size_t recent_bytes_ = 0;
};

}  // namespace vmu::cli
