// The serial console as vm-wait-ready reads it (ConsoleAnalyzer::feed):
// arbitrary guest bytes (ANSI, NULs, CR, cut lines, reporter blocks) fed in
// pieces of varying size, then the verdict decided over what was found.
// Every line also goes through a redaction filter, as vm-wait-ready's do.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "diagnose/analysis.hpp"
#include "diagnose/catalog.hpp"
#include "diagnose/verdict.hpp"
#include "evidence/redact.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const vmu::diagnose::Catalog catalog;  // immutable: built once
  std::string_view text = vmu::fuzz::bytes(data, size);
  // The first byte chooses the size of the pieces: lines split anywhere.
  const std::size_t piece = text.empty() ? 1 : 1 + static_cast<unsigned char>(text[0]) % 97;
  std::vector<vmu::diagnose::UnitFacts> units(1);
  units[0].name = "vm-agent.service";
  units[0].idents = {"vm-agent"};
  units[0].enabled_in = {"multi-user.target.wants"};
  vmu::diagnose::ConsoleAnalyzer an(catalog, units);
  const auto rules = vmu::evidence::make_rules(
      {"SESSION_ID"},
      std::map<std::string, std::vector<std::string>>{{"SESSION_ID", {"sess-1234"}}});
  an.set_line_filter([&](std::string_view l) { return vmu::evidence::redact(rules.rules, l); });
  std::int64_t ms = 0;
  for (std::size_t off = 0; off < text.size(); off += piece, ms += 7) {
    an.feed(text.substr(off, std::min(piece, text.size() - off)), ms);
    (void)an.take_events();
    if (off == text.size() / 2) an.restart_input();
  }
  an.finish(ms);
  (void)an.take_events();
  const vmu::diagnose::ProbeState probe;
  const vmu::diagnose::VmmState vmm;
  vmu::diagnose::DecideConfig cfg;
  cfg.reporter = true;
  for (bool final : {false, true}) {
    auto d = vmu::diagnose::decide(an.state(), an.units(), probe, vmm, cfg, ms, final);
    if (d.verdict) (void)vmu::diagnose::ready_json(*d.verdict, an.state(), probe, vmm, cfg);
  }
  return 0;
}
