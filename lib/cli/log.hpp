// Messages for humans, on stderr: "tool: message", one line per event.
// Library code never logs; only tools (through this) do.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace vmu::cli {

enum class Level { error, warn, info, debug };

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

  // Progress: a line rewritten in place, only when stderr is a terminal and
  // not quiet; end_progress() clears it.
  bool progress_shown() const { return tty_ && verbosity_ >= 0; }
  void progress(std::string_view message);
  void end_progress();

 private:
  std::string tool_;
  int verbosity_ = 0;
  bool tty_ = false;
  bool colour_ = false;
  bool progress_active_ = false;
};

}  // namespace vmu::cli
