// The guest reporter (agent-inject --reporter): a POSIX sh script and a
// systemd unit, shipped inside the library (embedded at build time from
// lib/inject/reporter/), that write the guest's own view of the agent —
// listening sockets, interfaces and addresses, the agent units' state,
// failed units — to the serial console as framed blocks for vm-wait-ready
// (format: lib/diagnose/reporter.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmu::inject {

inline constexpr std::string_view kReporterUnit = "vmutils-reporter.service";
inline constexpr std::string_view kReporterScript = "/usr/local/lib/vmutils/vmutils-reporter.sh";

struct ReporterSpec {
  int port = 8080;
  std::vector<std::string> units;  // empty: the units this run installs
};

// The script, as shipped.
std::string_view reporter_script();
// The unit for `spec` (port and units filled in). Units must be valid unit
// names (checked by the caller).
std::string reporter_unit(const ReporterSpec& spec);
// The record's agent.reporter: {unit, script, port, units, format, sha256}.
nlohmann::json reporter_json(const ReporterSpec& spec);

}  // namespace vmu::inject
