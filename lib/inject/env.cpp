#include "inject/env.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace vmu::inject {

std::string merge_env(std::string_view existing, const std::vector<EnvVar>& vars) {
  std::map<std::string, std::string, std::less<>> value;  // last value wins
  std::vector<std::string> order;                         // first mention order
  for (const auto& v : vars) {
    if (value.find(v.key) == value.end()) order.push_back(v.key);
    value[v.key] = v.value;
  }
  std::set<std::string, std::less<>> written;
  std::string out;
  std::size_t i = 0;
  while (i < existing.size()) {
    std::size_t j = existing.find('\n', i);
    if (j == std::string_view::npos) j = existing.size();
    std::string_view line = existing.substr(i, j - i);
    i = j + 1;
    std::string_view t = line;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    if (t.starts_with("export ")) t.remove_prefix(7);
    const std::size_t eq = t.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view key = t.substr(0, eq);
      if (auto it = value.find(key); it != value.end()) {
        if (written.insert(std::string(key)).second)
          out += std::string(key) + "=" + it->second + "\n";
        continue;
      }
    }
    out.append(line);
    out += '\n';
  }
  for (const auto& k : order)
    if (!written.count(k)) out += k + "=" + value[k] + "\n";
  return out;
}

std::vector<std::string> env_keys(const std::vector<EnvVar>& vars) {
  std::set<std::string> keys;
  for (const auto& v : vars) keys.insert(v.key);
  return {keys.begin(), keys.end()};
}

}  // namespace vmu::inject
