#include "cli/progress.hpp"

#include <cmath>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace vmu::cli {

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes) / 1024;
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string progress_text(std::uint64_t done, std::uint64_t total,
                          std::chrono::duration<double> elapsed) {
  std::string s = total > 0 ? fmt::format("{} of {}", human_bytes(done), human_bytes(total))
                            : human_bytes(done);
  const double secs = elapsed.count();
  // A rate from less than a quarter second of work says little.
  if (secs >= 0.25 && done > 0) {
    const double rate = static_cast<double>(done) / secs;
    std::string r = human_bytes(static_cast<std::uint64_t>(rate));
    if (const auto dot = r.find('.'); dot != std::string::npos) r.erase(dot, 2);  // "374 MiB"
    s += fmt::format(", {}/s", r);
    if (total > done) {
      const auto eta = static_cast<long long>(std::ceil(static_cast<double>(total - done) / rate));
      s += eta >= 60 ? fmt::format(", ETA {} min {} s", eta / 60, eta % 60)
                     : fmt::format(", ETA {} s", eta);
    }
  }
  return s;
}

ProgressFn progress_reporter(Log& log, std::string key, std::uint64_t min_bytes) {
  using Clock = std::chrono::steady_clock;
  struct State {
    std::mutex mu;
    std::string step;
    Clock::time_point start, drawn;
    bool active = false;
  };
  auto st = std::make_shared<State>();
  const std::string prefix = key.empty() ? std::string() : key + ": ";
  return [&log, st, key, prefix, min_bytes](const ProgressEvent& e) {
    std::lock_guard lock(st->mu);
    if (e.total < min_bytes) return;
    const auto now = Clock::now();
    if (!st->active || st->step != e.step || e.done == 0) {
      if (st->active && st->step == e.step && e.done == 0) return;  // a repeated start
      st->active = true;
      st->step = std::string(e.step);
      st->start = now;
      st->drawn = {};
      log.info("{}{} '{}' ({})", prefix, e.step, e.subject, human_bytes(e.total));
    }
    if (e.done >= e.total) {
      log.end_live(key);
      st->active = false;
      return;
    }
    if (now - st->drawn < std::chrono::milliseconds(200)) return;
    st->drawn = now;
    log.live(key, fmt::format("{}{}: {}", prefix, e.step,
                              progress_text(e.done, e.total, now - st->start)));
  };
}

}  // namespace vmu::cli
