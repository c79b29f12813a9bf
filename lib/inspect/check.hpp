// A static preflight of a systemd service inside an image: would systemd
// find it, start it at boot, and could it exec its binaries with the
// environment it needs? Every finding carries a stable code and evidence.
//
// Codes (severity error unless noted):
//   unit_not_found, unit_masked, unit_link_dangling, unit_not_a_file,
//   unit_file (info), install_invalid (warning),
//   default_target_missing (warning), not_enabled, enablement_link_dangling,
//   enabled (info),
//   no_exec_start, multiple_exec_start, exec_unresolved (warning),
//   exec_not_found (warning with the '-' prefix), exec_symlink_loop,
//   exec_not_executable, exec_bad_format, elf_interpreter_not_found,
//   interpreter_not_found, interpreter_not_executable,
//   env_interpreter_not_found, exec (info),
//   user_not_found, group_not_found, dynamic_user (info),
//   workdir_not_found, workdir_not_a_directory,
//   environment_file_not_found, environment_file_optional_missing (info),
//   env_key_missing, env_only_in_etc_environment, env_key_ignored,
//   env_key_set (info),
//   no_wait_online_provider, network_online_not_wanted (warning),
//   wait_online_provider (info),
//   reporter (info), no_reporter (info), reporter_not_enabled (warning),
//   reporter_script_missing (warning): the vmutils guest reporter.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ext4/image.hpp"

namespace vmu::inspect {

enum class Severity { error, warning, info };
std::string_view severity_word(Severity s);

struct Finding {
  Severity severity = Severity::info;
  std::string code;
  std::string unit;
  std::string message;
  nlohmann::json evidence = nlohmann::json::object();

  // {"severity","code","unit","message","evidence"}
  nlohmann::json json() const;
};

struct CheckOptions {
  std::string unit;                      // "agent" or "agent.service"
  std::vector<std::string> require_env;  // keys that must reach the service
};

// The unit name checked: `name` with ".service" added when it has no unit
// suffix. Exit::usage for a name systemd would refuse.
std::string unit_name(const std::string& name);

// Runs every check on `opts.unit` in `img`. Bad input (a unit name or env
// key systemd would refuse) throws Exit::usage; what is wrong in the image
// is returned as findings, in the order the checks ran.
std::vector<Finding> check_unit(const ext4::Image& img, const CheckOptions& opts);

// The preflight of several units of one image file (opened read-only), as
// agent-inject --check runs it right after an injection: every key of
// `require_env` must reach each unit.
std::vector<Finding> check_units(const std::string& image, const std::vector<std::string>& units,
                                 const std::vector<std::string>& require_env);

bool has_errors(const std::vector<Finding>& findings);
// "2 errors, 1 warning (exec_not_found, user_not_found)" or "clean".
std::string summary(const std::vector<Finding>& findings);

}  // namespace vmu::inspect
