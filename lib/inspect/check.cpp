#include "inspect/check.hpp"
// The checks themselves, per finding family: check_unit_file.cpp,
// check_enablement.cpp, check_user.cpp, check_exec.cpp,
// check_environment.cpp, check_network.cpp (over checker.hpp).

#include <algorithm>

#include <fmt/format.h>

#include "inject/unit.hpp"
#include "inspect/checker.hpp"
#include "inspect/tree.hpp"
#include "util/error.hpp"

namespace vmu::inspect {

std::string_view severity_word(Severity s) {
  switch (s) {
    case Severity::error:
      return "error";
    case Severity::warning:
      return "warning";
    case Severity::info:
      break;
  }
  return "info";
}

nlohmann::json Finding::json() const {
  return {{"severity", std::string(severity_word(severity))},
          {"code", code},
          {"unit", unit},
          {"message", message},
          {"evidence", evidence}};
}

std::string unit_name(const std::string& name) {
  std::string n = name;
  if (!inject::valid_unit_name(n) && inject::valid_unit_name(n + ".service")) n += ".service";
  if (!inject::valid_unit_name(n))
    throw Error(Exit::usage, "bad_unit",
                fmt::format("--unit '{}' is not a unit name systemd accepts (e.g. "
                            "agent.service)",
                            name));
  return n;
}

bool has_errors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::error; });
}

std::string summary(const std::vector<Finding>& findings) {
  std::size_t errors = 0, warnings = 0;
  std::vector<std::string> codes;
  for (const auto& f : findings) {
    if (f.severity == Severity::info) continue;
    (f.severity == Severity::error ? errors : warnings)++;
    if (std::find(codes.begin(), codes.end(), f.code) == codes.end()) codes.push_back(f.code);
  }
  if (errors == 0 && warnings == 0) return "clean";
  std::string list;
  for (const auto& c : codes) list += (list.empty() ? "" : ", ") + c;
  return fmt::format("{} error{}, {} warning{} ({})", errors, errors == 1 ? "" : "s", warnings,
                     warnings == 1 ? "" : "s", list);
}

std::vector<Finding> check_unit(const ext4::Image& img, const CheckOptions& opts) {
  return detail::Checker(img, opts).run();
}

std::vector<Finding> check_units(const std::string& image, const std::vector<std::string>& units,
                                 const std::vector<std::string>& require_env) {
  auto img = open_for_inspection(image);
  std::vector<Finding> out;
  for (const auto& u : units) {
    auto f = check_unit(img, {u, require_env});
    out.insert(out.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  return out;
}

}  // namespace vmu::inspect
