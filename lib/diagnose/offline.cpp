#include "diagnose/offline.hpp"

#include <algorithm>
#include <charconv>

namespace vmu::diagnose {

std::optional<std::int64_t> console_timestamp_ms(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\r')) ++i;
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  std::int64_t sec = 0;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), sec);
  if (ec != std::errc() || p == s.data() + s.size() || *p != '.') return std::nullopt;
  ++p;
  std::int64_t frac = 0;
  int digits = 0;
  while (p < s.data() + s.size() && *p >= '0' && *p <= '9') {
    if (digits < 3) frac = frac * 10 + (*p - '0');
    ++digits;
    ++p;
  }
  if (digits == 0 || p == s.data() + s.size() || *p != ']') return std::nullopt;
  while (digits < 3) {
    frac *= 10;
    ++digits;
  }
  return sec * 1000 + frac;
}

OfflineResult analyse_offline(const Catalog& catalog, const OfflineInput& in) {
  ConsoleAnalyzer an(catalog, in.units);
  std::int64_t ms = 0;
  std::string_view rest = in.console;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    const std::size_t n = nl == std::string_view::npos ? rest.size() : nl + 1;
    const std::string_view line = rest.substr(0, n);
    if (auto t = console_timestamp_ms(line)) ms = std::max(ms, *t);
    an.feed(line, ms);
    rest.remove_prefix(n);
  }
  an.finish(ms);

  OfflineResult r;
  r.end_ms = ms;
  ProbeState probe;
  VmmState vmm;
  vmm.watched = in.vmm_pid > 0;
  vmm.pid = in.vmm_pid;
  vmm.exited = in.vmm_exited;
  if (in.vmm_exited) vmm.exited_ms = ms;
  vmm.status = in.vmm_status;
  vmm.log_tail = in.vmm_log_tail;
  DecideConfig cfg;
  cfg.console = true;
  cfg.reporter = in.reporter;
  const Decision d = decide(an.state(), an.units(), probe, vmm, cfg, ms, /*final=*/true);
  r.verdict = d.verdict;
  r.analysis = an.state();
  return r;
}

}  // namespace vmu::diagnose
