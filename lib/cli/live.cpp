#include "cli/live.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace vmu::cli {

LiveLines::LiveLines(const Log& log) : active_(log.progress_shown()) {}

LiveLines::~LiveLines() {
  clear();
}

void LiveLines::clear() {
  if (!active_ || shown_ == 0) return;
  std::string s = "\r\033[K";
  for (int i = 1; i < shown_; ++i) s += "\033[1A\r\033[K";
  std::fputs(s.c_str(), stderr);
  std::fflush(stderr);
  shown_ = 0;
}

void LiveLines::show(const std::vector<std::string>& lines, bool force) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && shown_ > 0 && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  winsize ws{};
  int cols = 80, rows = 24;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    cols = ws.ws_col;
    rows = ws.ws_row > 0 ? ws.ws_row : rows;
  }
  const int max_lines = std::max(1, rows - 2);
  std::vector<std::string> out(
      lines.begin(), lines.begin() + std::min<long>(static_cast<long>(lines.size()), max_lines));
  if (static_cast<int>(lines.size()) > max_lines) {
    out.back() = fmt::format("... and {} more", lines.size() - out.size() + 1);
  }
  std::string s;
  // Erase what is there, then draw.
  if (shown_ > 0) {
    s += "\r\033[K";
    for (int i = 1; i < shown_; ++i) s += "\033[1A\r\033[K";
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string l = out[i];
    if (static_cast<int>(l.size()) >= cols)
      l.resize(static_cast<std::size_t>(std::max(cols - 1, 1)));
    if (i) s += "\n";
    s += l;
  }
  std::fputs(s.c_str(), stderr);
  std::fflush(stderr);
  shown_ = static_cast<int>(out.size());
}

}  // namespace vmu::cli
