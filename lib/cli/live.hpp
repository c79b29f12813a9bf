// A block of status lines redrawn in place on a terminal (one per VM while
// a tool waits), cleared before any event line is printed. Nothing is
// drawn when stderr is not a terminal or with -q: then a tool prints plain
// event lines instead.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/log.hpp"

namespace vmu::cli {

class LiveLines {
 public:
  explicit LiveLines(const Log& log);
  ~LiveLines();
  LiveLines(const LiveLines&) = delete;
  LiveLines& operator=(const LiveLines&) = delete;

  bool active() const { return active_; }
  // Redraws with `lines` (cut to the terminal's width and height), at most
  // five times a second unless `force`.
  void show(const std::vector<std::string>& lines, bool force = false);
  // Erases the block; the next show() draws it again.
  void clear();

 private:
  bool active_ = false;
  int shown_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace vmu::cli
