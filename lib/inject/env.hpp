// Environment files (/etc/environment, or what --env-target names): merge
// KEY=VALUE lines into an existing file, keeping everything else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "inject/request.hpp"

namespace vmu::inject {

// Replaces the lines of keys in `vars` (the first one; later duplicates are
// dropped), keeps every other line as it was, and appends the keys that
// were not there, in order. A key given twice in `vars` takes its last value.
std::string merge_env(std::string_view existing, const std::vector<EnvVar>& vars);

// The distinct keys of `vars`, sorted.
std::vector<std::string> env_keys(const std::vector<EnvVar>& vars);

}  // namespace vmu::inject
