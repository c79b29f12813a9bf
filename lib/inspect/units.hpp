// Units in an image as systemd would load them: where a unit's file is
// (its name, then its template, in systemd's folders of precedence), and
// what the unit files of the units that matter say, for the console
// analysis (diagnose::UnitFacts). One place for both vm-wait-ready and
// vm-logs-archive, and for rootfs-inspect check's own search.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diagnose/analysis.hpp"
#include "ext4/image.hpp"

namespace vmu::inspect {

// The template a unit instance (foo@bar.service) is loaded from
// (foo@.service); "" for a name that is not an instance.
std::string unit_template(const std::string& name);

struct UnitFile {
  enum class Found {
    file,        // `path` is the unit file (symlinks followed)
    none,        // in none of `searched`
    masked,      // `path` is a symlink to /dev/null
    dangling,    // `path` is a symlink to `link_target`, which is not there
    not_a_file,  // `path` is a folder, device... (`st`)
  };
  Found found = Found::none;
  std::string path;
  std::string link_target;
  std::optional<ext4::Stat> st;
  std::vector<std::string> searched;
};

// Where systemd finds `name` (a full unit name, e.g. "agent.service"):
// the first entry of its name, then of its template, in /etc/systemd/system,
// /lib/systemd/system, /usr/lib/systemd/system.
UnitFile locate_unit(const ext4::Image& img, const std::string& name);

// The units that matter for a record: its agent.units (in_record, with
// enabled_in) and then `extra` (vm-wait-ready --unit; ".service" added to a
// bare name), each once. With `img`, what each unit's file says
// (Description=, Type=, Restart=, RestartSec=, ExecStart='s program,
// SyslogIdentifier=), best effort: a unit whose file cannot be read keeps
// its name alone, as it does without an image.
std::vector<diagnose::UnitFacts> unit_facts(const nlohmann::json& record,
                                            const std::vector<std::string>& extra,
                                            const ext4::Image* img);

}  // namespace vmu::inspect
