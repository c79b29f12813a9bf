#include "inject/reporter.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "diagnose/reporter.hpp"
#include "inject/sha256.hpp"

namespace vmu::inject {

namespace embedded {
extern const std::string_view kReporterScriptText;
extern const std::string_view kReporterUnitTemplate;
}  // namespace embedded

namespace {
void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}
}  // namespace

std::string_view reporter_script() {
  return embedded::kReporterScriptText;
}

std::string reporter_unit(const ReporterSpec& spec) {
  std::string text(embedded::kReporterUnitTemplate);
  replace_all(text, "@PORT@", std::to_string(spec.port));
  replace_all(text, "@UNITS@", fmt::format("{}", fmt::join(spec.units, " ")));
  replace_all(text, "@SCRIPT@", kReporterScript);
  return text;
}

nlohmann::json reporter_json(const ReporterSpec& spec) {
  Sha256 h;
  h.update(reporter_script());
  return {{"unit", kReporterUnit}, {"script", kReporterScript},          {"port", spec.port},
          {"units", spec.units},   {"format", diagnose::kReportVersion}, {"sha256", h.hex()}};
}

}  // namespace vmu::inject
