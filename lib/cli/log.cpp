#include "cli/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace vmu::cli {

namespace {
std::mutex g_stderr_mu;  // whole lines from concurrent workers
}

Log::Log(std::string tool) : tool_(std::move(tool)) {
  tty_ = ::isatty(STDERR_FILENO) == 1;
  const char* no_colour = std::getenv("NO_COLOR");
  colour_ = tty_ && (no_colour == nullptr || *no_colour == '\0');
}

void Log::emit(Level level, std::string_view message) {
  // -q (-1): errors; default (0): warnings and events; -v (1): debug too.
  const int need = level == Level::debug ? 1 : level == Level::error ? -1 : 0;
  if (verbosity_ < need && level != Level::error) return;
  std::string_view tag;
  std::string_view on, off;
  switch (level) {
    case Level::error:
      tag = "error: ";
      on = "\033[1;31m";
      break;
    case Level::warn:
      tag = "warning: ";
      on = "\033[1;33m";
      break;
    default:
      break;
  }
  if (!colour_ || tag.empty())
    on = off = "";
  else
    off = "\033[0m";
  std::lock_guard lock(g_stderr_mu);
  if (progress_active_) {
    std::fputs("\r\033[K", stderr);
    progress_active_ = false;
  }
  fmt::print(stderr, "{}: {}{}{}{}\n", tool_, on, tag, off, message);
  std::fflush(stderr);
}

void Log::progress(std::string_view message) {
  if (!progress_shown()) return;
  std::lock_guard lock(g_stderr_mu);
  fmt::print(stderr, "\r\033[K{}: {}", tool_, message);
  std::fflush(stderr);
  progress_active_ = true;
}

void Log::end_progress() {
  std::lock_guard lock(g_stderr_mu);
  if (progress_active_) std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  progress_active_ = false;
}

}  // namespace vmu::cli
