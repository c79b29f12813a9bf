// The unit preflight (checker.hpp), the environment the service gets:
// Environment=, EnvironmentFile= (and what /etc/environment does not do),
// against the keys required.
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

void Checker::check_environment() {
  std::map<std::string, KeySource> keys;  // what reaches the service
  std::map<std::string, KeySource> ignored;
  // The manager's DefaultEnvironment= reaches every service.
  for (const char* conf : {"/etc/systemd/system.conf"}) {
    if (auto text = read_text(conf)) {
      UnitConfig m;
      m.add_file(*text, conf);
      for (const UnitSetting* s : m.all("Manager", "DefaultEnvironment"))
        for (auto& k : environment_keys(s->value))
          keys.emplace(k, KeySource{fmt::format("DefaultEnvironment= ({})", where(*s)), 0});
    }
  }
  for (const UnitSetting* s : cfg_.all("Service", "EnvironmentFile")) {
    std::string file = s->value;
    const bool optional = file.front() == '-';
    if (optional) file.erase(0, 1);
    nlohmann::json ev = {{"setting", where(*s)}, {"path", file}};
    if (file.empty() || file.front() != '/') continue;
    auto text = read_text(file);
    if (!text) {
      if (optional)
        add(Severity::info, "environment_file_optional_missing",
            fmt::format("EnvironmentFile=-{} ({}) does not exist in the image (optional)", file,
                        where(*s)),
            ev);
      else
        add(Severity::error, "environment_file_not_found",
            fmt::format("EnvironmentFile={} ({}) does not exist in the image: systemd "
                        "refuses to start the service ('Failed to load environment files'; "
                        "prefix the path with '-' if the file is optional)",
                        file, where(*s)),
            ev);
      continue;
    }
    for (const auto& e : parse_env_file(*text)) {
      if (e.valid)
        keys.emplace(e.key, KeySource{file, e.line});
      else
        ignored.emplace(e.key, KeySource{file, e.line, false});
    }
  }
  for (const UnitSetting* s : cfg_.all("Service", "Environment"))
    for (auto& k : environment_keys(s->value))
      keys.insert_or_assign(k, KeySource{fmt::format("Environment= ({})", where(*s)), 0});

  std::optional<std::vector<EnvLine>> etc_env;
  for (const auto& k : opts_.require_env) {
    if (auto it = keys.find(k); it != keys.end()) {
      nlohmann::json ev = {{"key", k}, {"source", it->second.source}};
      if (it->second.line) ev["line"] = it->second.line;
      add(Severity::info, "env_key_set",
          fmt::format("{} reaches the service from {}", k, it->second.source), ev);
      continue;
    }
    if (auto it = ignored.find(k); it != ignored.end()) {
      add(Severity::error, "env_key_ignored",
          fmt::format("{} is in '{}' line {}, but written in a form systemd ignores (e.g. "
                      "'export {}=...'; EnvironmentFile= wants plain KEY=VALUE lines)",
                      k, it->second.source, it->second.line, k),
          {{"key", k}, {"file", it->second.source}, {"line", it->second.line}});
      continue;
    }
    if (!etc_env) {
      auto text = read_text("/etc/environment");
      etc_env = text ? parse_env_file(*text) : std::vector<EnvLine>{};
    }
    auto in_etc = std::find_if(etc_env->begin(), etc_env->end(),
                               [&](const EnvLine& e) { return e.key == k; });
    if (in_etc != etc_env->end()) {
      add(Severity::error, "env_only_in_etc_environment",
          fmt::format("{} is set only in /etc/environment (line {}), which {} does not load: "
                      "systemd services do not read that file by themselves; add "
                      "EnvironmentFile=/etc/environment to [Service]",
                      k, in_etc->line, name_),
          {{"key", k}, {"file", "/etc/environment"}, {"line", in_etc->line}});
      continue;
    }
    nlohmann::json loaded = nlohmann::json::array();
    for (const UnitSetting* s : cfg_.all("Service", "EnvironmentFile")) loaded.push_back(s->value);
    add(Severity::error, "env_key_missing",
        fmt::format("{} does not reach the service: not in Environment=, not in any "
                    "EnvironmentFile= it loads, not in /etc/environment",
                    k),
        {{"key", k}, {"environment_files", loaded}});
  }
}

}  // namespace vmu::inspect::detail
