// JSON Lines in and out: one record per line, each written line flushed at
// once so the next tool of a pipeline can start on it.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vmu {

// The longest line accepted on input; a longer one is refused (and skipped),
// never buffered without bound.
inline constexpr std::size_t kMaxLineBytes = 1u << 20;

class LineReader {
 public:
  struct Line {
    std::string text;
    std::size_t number = 0;  // 1-based
    bool too_long = false;   // text is empty then; the rest of the line was skipped
  };

  // `stop` is asked after a read was interrupted by a signal: true ends
  // the input there (a tool that was told to stop).
  explicit LineReader(int fd, std::size_t max_line = kMaxLineBytes, std::function<bool()> stop = {})
      : fd_(fd), max_(max_line), stop_(std::move(stop)) {}
  // The next line without its newline; std::nullopt at end of input. A last
  // line without a newline still counts. Blank lines are skipped.
  std::optional<Line> next();

 private:
  bool fill();
  int fd_;
  std::size_t max_;
  std::function<bool()> stop_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
  bool eof_ = false;
};

// Writes whole lines to a file descriptor; safe to share between threads.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  // Writes `line` + '\n' in one go. Returns false when the reader has gone
  // (EPIPE), which ends a pipeline quietly.
  bool write(std::string_view line);

 private:
  int fd_;
  std::mutex mu_;
};

}  // namespace vmu
