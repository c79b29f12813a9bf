// Messages for humans, on stderr: "tool: message", one line per event.
// Library code never logs; only tools (through this) do.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace vmu::cli {

enum class Level { error, warn, info, debug };

// --color: auto (the default) colours a terminal unless NO_COLOR is set
// (not empty) or TERM is "dumb"; always and never are what they say.
enum class ColorWhen { automatic, always, never };
ColorWhen parse_color_when(std::string_view word);  // auto|always|never, else Exit::usage
bool use_color(int fd, ColorWhen when);

// `s` made safe for a terminal: control characters (C0, DEL, and C1 in
// UTF-8) and bytes that are not UTF-8 become escapes (\n, \t, \r, \xNN),
// so a record, argument or image name cannot move the cursor, set a title
// (OSC) or forge a line. Everything the tools write to stderr goes
// through it.
std::string quote_controls(std::string_view s);

class Log {
 public:
  explicit Log(std::string tool);

  // -q: errors only; default: warnings and events; -v: debug detail too.
  void set_verbosity(int v) { verbosity_ = v; }
  int verbosity() const { return verbosity_; }

  template <class... A>
  void error(fmt::format_string<A...> f, A&&... a) {
    emit(Level::error, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... a) {
    emit(Level::warn, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) {
    emit(Level::info, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... a) {
    emit(Level::debug, fmt::format(f, std::forward<A>(a)...));
  }
  void emit(Level level, std::string_view message);

  void set_color(ColorWhen when);
  bool color() const { return colour_; }

  // Live lines: a block of status lines at the bottom of a terminal, one
  // per key (a VM), redrawn in place; event lines are printed above it.
  // Shown only when stderr is a terminal and not quiet (progress_shown());
  // otherwise nothing is drawn. Each line is cut to the terminal's width;
  // it is shown as given, without the "tool: " of event lines.
  bool progress_shown() const { return tty_ && verbosity_ >= 0; }
  void live(const std::string& key, std::string_view text);
  // Several keys' lines at once, one redraw (a line per VM of a wait).
  void live(const std::vector<std::pair<std::string, std::string>>& lines);
  void end_live(const std::string& key);
  // One live line of its own (key ""); end_progress() clears every line.
  void progress(std::string_view message);
  void end_progress();

 private:
  void erase_live_locked();
  void draw_live_locked();

  std::string tool_;
  int verbosity_ = 0;
  bool tty_ = false;
  bool colour_ = false;
  std::vector<std::pair<std::string, std::string>> live_;  // key, text, in order of arrival
  int drawn_ = 0;                                          // lines on screen
};

}  // namespace vmu::cli
