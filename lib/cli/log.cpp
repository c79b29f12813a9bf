#include "cli/log.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "util/error.hpp"

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

ColorWhen parse_color_when(std::string_view word) {
  if (word == "auto") return ColorWhen::automatic;
  if (word == "always") return ColorWhen::always;
  if (word == "never") return ColorWhen::never;
  throw Error(Exit::usage, fmt::format("--color '{}': expected auto, always or never", word));
}

bool use_color(int fd, ColorWhen when) {
  if (when != ColorWhen::automatic) return when == ColorWhen::always;
  const char* no_colour = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return ::isatty(fd) == 1 && (no_colour == nullptr || *no_colour == '\0') &&
         !(term != nullptr && std::string_view(term) == "dumb");
}

Log::Log(std::string tool) : tool_(std::move(tool)) {
  tty_ = ::isatty(STDERR_FILENO) == 1;
  colour_ = use_color(STDERR_FILENO, ColorWhen::automatic);
}

void Log::set_color(ColorWhen when) {
  colour_ = use_color(STDERR_FILENO, when);
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
  erase_live_locked();
  fmt::print(stderr, "{}: {}{}{}{}\n", tool_, on, tag, off, quote_controls(message));
  draw_live_locked();
  std::fflush(stderr);
}

void Log::erase_live_locked() {
  if (drawn_ == 0) return;
  std::string s = "\r\033[K";
  for (int i = 1; i < drawn_; ++i) s += "\033[1A\r\033[K";
  std::fputs(s.c_str(), stderr);
  drawn_ = 0;
}

void Log::draw_live_locked() {
  if (live_.empty() || !progress_shown()) return;
  winsize ws{};
  std::size_t cols = 80, rows = 24;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    cols = ws.ws_col;
    if (ws.ws_row > 0) rows = ws.ws_row;
  }
  // Never more lines than the screen has (less one for the cursor).
  const std::size_t max_lines = std::max<std::size_t>(1, rows - 1);
  std::string s;
  std::size_t n = 0;
  for (const auto& [key, text] : live_) {
    if (n + 1 == max_lines && live_.size() > max_lines) {
      s += fmt::format("{}... and {} more", n ? "\n" : "", live_.size() - n);
      ++n;
      break;
    }
    // A live line is not an event: no tool name, so the progress fits.
    std::string line = quote_controls(text);
    // The width is counted in bytes: a line with multi-byte characters is
    // cut early, never too late (a wrapped line would break the redraw).
    if (line.size() >= cols) line.resize(cols - 1);
    s += (n ? "\n" : "") + line;
    ++n;
  }
  std::fputs(s.c_str(), stderr);
  drawn_ = static_cast<int>(n);
}

void Log::live(const std::string& key, std::string_view text) {
  if (!progress_shown()) return;
  std::lock_guard lock(g_stderr_mu);
  auto it = std::find_if(live_.begin(), live_.end(), [&](const auto& l) { return l.first == key; });
  if (it == live_.end())
    live_.emplace_back(key, std::string(text));
  else
    it->second = std::string(text);
  erase_live_locked();
  draw_live_locked();
  std::fflush(stderr);
}

void Log::live(const std::vector<std::pair<std::string, std::string>>& lines) {
  if (!progress_shown() || lines.empty()) return;
  std::lock_guard lock(g_stderr_mu);
  for (const auto& line : lines) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string& key = line.first;
    auto it =
        std::find_if(live_.begin(), live_.end(), [&](const auto& l) { return l.first == key; });
    if (it == live_.end())
      live_.push_back(line);
    else
      it->second = line.second;
  }
  erase_live_locked();
  draw_live_locked();
  std::fflush(stderr);
}

void Log::end_live(const std::string& key) {
  std::lock_guard lock(g_stderr_mu);
  auto it = std::find_if(live_.begin(), live_.end(), [&](const auto& l) { return l.first == key; });
  if (it == live_.end()) return;
  live_.erase(it);
  erase_live_locked();
  draw_live_locked();
  std::fflush(stderr);
}

void Log::progress(std::string_view message) {
  live("", message);
}

void Log::end_progress() {
  std::lock_guard lock(g_stderr_mu);
  live_.clear();
  erase_live_locked();
  std::fflush(stderr);
}

}  // namespace vmu::cli
