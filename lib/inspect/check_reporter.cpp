// The unit preflight (checker.hpp), the vmutils guest reporter
// (agent-inject --reporter): installed, its script present, enabled, and
// whether it watches the unit being checked.
#include "inject/reporter.hpp"
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

using inject::kReporterScript;
using inject::kReporterUnit;

void Checker::check_reporter() {
  const std::string unit = join(kUnitDirs[0], kReporterUnit);
  auto text = read_text(unit);
  if (!text) {
    add(Severity::info, "no_reporter",
        "no vmutils guest reporter in the image (agent-inject --reporter): vm-wait-ready will "
        "judge from the console and the host's view of the network only");
    return;
  }
  UnitConfig rc;
  rc.add_file(*text, unit);
  std::string port = "8080", units;
  for (const auto* s : rc.all("Service", "Environment"))
    for (const auto& word : split_quoted(s->value)) {
      if (word.rfind("VMU_REPORT_PORT=", 0) == 0) port = word.substr(16);
      if (word.rfind("VMU_REPORT_UNITS=", 0) == 0) units = word.substr(17);
    }
  nlohmann::json ev = {{"path", unit}, {"port", port}, {"units", split_quoted(units)}};
  const std::string script = std::string(kReporterScript);
  auto st = stat(script, ext4::Follow::yes);
  if (!st || st->type != ext4::FileType::regular) {
    add(Severity::warning, "reporter_script_missing",
        fmt::format("{} is installed but its script {} is missing", kReporterUnit, script), ev);
    return;
  }
  const std::string link =
      join(kUnitDirs[0], "multi-user.target.wants/") + std::string(kReporterUnit);
  if (!stat(link, ext4::Follow::no)) {
    add(Severity::warning, "reporter_not_enabled",
        fmt::format("{} is installed but not enabled ({} is missing): it will not run",
                    kReporterUnit, link),
        ev);
    return;
  }
  const auto watched = split_quoted(units);
  const bool watches_this = std::find(watched.begin(), watched.end(), name_) != watched.end();
  add(Severity::info, "reporter",
      fmt::format("the vmutils guest reporter is installed and enabled: it reports port {} and "
                  "{} on the console for vm-wait-ready{}",
                  port, units.empty() ? "no unit" : units,
                  watches_this ? "" : fmt::format(" ({} is not among them)", name_)),
      ev);
}

}  // namespace vmu::inspect::detail
