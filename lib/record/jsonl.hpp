// JSON Lines in and out: one record per line, each written line flushed at
// once so the next tool of a pipeline can start on it.
#pragma once

#include <chrono>
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

  // `stop` is asked before each read and after a read was interrupted by a
  // signal: true ends the input there (a tool that was told to stop) or,
  // with a `drain` window, goes on reading for at most that long, so what
  // the tools before this one pass on as they stop still arrives; input
  // that is not there by then is cut (cut_short()).
  explicit LineReader(int fd, std::size_t max_line = kMaxLineBytes, std::function<bool()> stop = {},
                      std::chrono::milliseconds drain = {})
      : fd_(fd), max_(max_line), stop_(std::move(stop)), drain_(drain) {}
  // The next line without its newline; std::nullopt at end of input. A last
  // line without a newline still counts. Blank lines are skipped.
  std::optional<Line> next();
  // True when input was ended by `stop` or the drain window, not by EOF.
  bool cut_short() const { return cut_; }

 private:
  bool fill();
  // After `stop`: starts the drain window, or ends the input (false).
  bool begin_drain();
  int fd_;
  std::size_t max_;
  std::function<bool()> stop_;
  std::chrono::milliseconds drain_;
  std::optional<std::chrono::steady_clock::time_point> drain_until_;
  bool cut_ = false;
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
