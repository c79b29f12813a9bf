#include "cli/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace vmu::cli {

namespace {
std::mutex g_stderr_mu;  // whole lines from concurrent workers

// The length of the valid UTF-8 sequence at s[i] (2 to 4), else 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0))) return 0;
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

}  // namespace

std::string quote_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c == '\n' || c == '\t' || c == '\r') {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r";
      ++i;
      continue;
    }
    const std::size_t n = c >= 0x80 ? utf8_length(s, i) : 0;
    // U+0080..U+009F (C1 controls, CSI and OSC among them) are C2 80..C2 9F.
    if (n > 0 && !(n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0)) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    const std::size_t bad = n > 0 ? n : 1;
    for (std::size_t k = 0; k < bad; ++k)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i + k]));
    i += bad;
  }
  return out;
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
  fmt::print(stderr, "{}: {}{}{}{}\n", tool_, on, tag, off, quote_controls(message));
  std::fflush(stderr);
}

void Log::progress(std::string_view message) {
  if (!progress_shown()) return;
  std::lock_guard lock(g_stderr_mu);
  fmt::print(stderr, "\r\033[K{}: {}", tool_, quote_controls(message));
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
