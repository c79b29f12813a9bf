// Console bytes to clean lines. A serial console is a byte stream written
// in arbitrary chunks: lines end in "\n", "\r\n" or "\r\r\n", status lines
// carry ANSI colour and cursor codes, systemd rewrites progress lines in
// place with "\r" and ESC M, and a guest can print anything (NULs, half a
// UTF-8 character, a line without end). The login prompt has no newline,
// so the next line arrives glued to it: nothing downstream anchors
// patterns at the start of a line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmu::diagnose {

// The longest console line kept; the rest of a longer line is dropped.
inline constexpr std::size_t kMaxConsoleLine = 4096;

// Removes ANSI escape sequences (CSI "ESC [ ... final", OSC "ESC ] ...
// BEL|ESC \", DCS/SOS/PM/APC strings, charset designations, two-byte
// escapes such as ESC M), turns TAB into a space, drops every other control
// character, and replaces invalid UTF-8 with U+FFFD, so the result is safe
// to match, to print on a terminal and to store in JSON. Trailing spaces
// are trimmed.
std::string clean_line(std::string_view raw);

// Splits a byte stream fed in arbitrary chunks into lines. "\n" and "\r"
// both end a line (a lone "\r" redraws the line on a terminal: what follows
// is a new line); empty lines are not reported; NUL bytes are dropped.
class LineAssembler {
 public:
  explicit LineAssembler(std::size_t max_line = kMaxConsoleLine) : max_(max_line) {}

  // Calls on_line(std::string_view raw) for each line completed by `bytes`.
  template <class F>
  void feed(std::string_view bytes, F&& on_line) {
    for (char c : bytes) {
      ++bytes_;
      if (c == '\n' || c == '\r') {
        if (!buf_.empty()) on_line(std::string_view(buf_));
        buf_.clear();
        dropping_ = false;
        continue;
      }
      if (c == '\0' || dropping_) continue;
      if (buf_.size() >= max_) {
        // Keep the head of an overlong line, report it, skip to its end.
        on_line(std::string_view(buf_));
        buf_.clear();
        dropping_ = true;
        ++cut_;
        continue;
      }
      buf_.push_back(c);
    }
  }

  // End of input: reports the unterminated last line, if any.
  template <class F>
  void finish(F&& on_line) {
    if (!buf_.empty()) on_line(std::string_view(buf_));
    buf_.clear();
    dropping_ = false;
  }

  // The line being assembled (no terminator seen yet).
  std::string_view pending() const { return buf_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t cut_lines() const { return cut_; }
  // Forgets the partial line (the file was truncated and is read again).
  void reset() {
    buf_.clear();
    dropping_ = false;
  }

 private:
  std::size_t max_;
  std::string buf_;
  bool dropping_ = false;
  std::uint64_t bytes_ = 0;
  std::uint64_t cut_ = 0;
};

}  // namespace vmu::diagnose
