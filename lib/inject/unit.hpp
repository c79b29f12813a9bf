// systemd unit files as `systemctl enable` reads them: the [Install]
// section says which symlinks enable a unit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vmu::inject {

struct UnitInstall {
  std::vector<std::string> wanted_by;          // WantedBy=
  std::vector<std::string> required_by;        // RequiredBy=
  std::vector<std::string> alias;              // Alias=
  std::vector<std::string> also;               // Also= (not followed: reported)
  std::string default_instance;                // DefaultInstance=
  std::vector<std::string> environment_files;  // EnvironmentFile= values, '-' stripped
};

// A unit name systemd accepts: [A-Za-z0-9:_.\\@-]+ with a known suffix.
bool valid_unit_name(std::string_view name);

// Parses a unit file's text. Throws Exit::usage naming `shown_as` for a
// malformed [Install] entry (a name systemd would refuse).
UnitInstall parse_unit(std::string_view text, std::string_view shown_as);

// One enablement symlink: LINK (in /etc/systemd/system) -> TARGET.
struct EnableLink {
  std::string link;
  std::string target;
  std::string enabled_in;  // "multi-user.target.wants", "" for an alias
};

// The symlinks `systemctl enable NAME` would create for `install`, and
// warnings for what it cannot do here (Also=, a template without instance).
std::vector<EnableLink> enable_links(std::string_view name, const UnitInstall& install,
                                     std::vector<std::string>& warnings);

}  // namespace vmu::inject
