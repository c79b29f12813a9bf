#include "inject/unit.hpp"

#include <array>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu::inject {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

bool valid_unit_name(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kSuffixes = {
      ".service",   ".socket", ".target", ".timer", ".path",  ".mount",
      ".automount", ".swap",   ".slice",  ".scope", ".device"};
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '_' || c == '.' || c == '\\' || c == '@' || c == '-';
    if (!ok) return false;
  }
  for (auto s : kSuffixes)
    if (name.size() > s.size() && name.ends_with(s)) return true;
  return false;
}

UnitInstall parse_unit(std::string_view text, std::string_view shown_as) {
  UnitInstall u;
  // Logical lines: a trailing backslash continues a line.
  std::vector<std::string> lines;
  std::string cur;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view t = trim(text.substr(i, j - i));
    i = j + 1;
    if (!t.empty() && t.back() == '\\') {
      cur += std::string(t.substr(0, t.size() - 1)) + " ";
      continue;
    }
    cur += std::string(t);
    lines.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  std::string section;
  std::size_t lineno = 0;
  for (const std::string& line : lines) {
    ++lineno;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      section = line;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key(trim(std::string_view(line).substr(0, eq)));
    const std::string_view value = trim(std::string_view(line).substr(eq + 1));
    if (section == "[Service]" && key == "EnvironmentFile") {
      std::string_view v = value;
      if (!v.empty() && v.front() == '-') v.remove_prefix(1);
      if (!v.empty()) u.environment_files.emplace_back(v);
      continue;
    }
    if (section != "[Install]") continue;
    std::vector<std::string>* list = nullptr;
    if (key == "WantedBy")
      list = &u.wanted_by;
    else if (key == "RequiredBy")
      list = &u.required_by;
    else if (key == "Alias")
      list = &u.alias;
    else if (key == "Also")
      list = &u.also;
    else if (key == "DefaultInstance") {
      // It becomes part of a link's name: an instance is one name, no '/'
      // (DefaultInstance=../../x made a folder and link outside *.wants/).
      const bool ok = value.empty() || value.find_first_of("/@") == std::string_view::npos;
      if (!ok || value == "." || value == ".." ||
          (!value.empty() && !valid_unit_name(fmt::format("a@{}.service", value))))
        throw Error(Exit::usage, "bad_unit",
                    fmt::format("unit '{}' line {}: DefaultInstance='{}' is not a valid instance "
                                "name (letters, digits, ':', '_', '.', '\\', '-')",
                                shown_as, lineno, value));
      u.default_instance = std::string(value);
      continue;
    }
    if (!list) continue;
    if (value.empty()) {  // an empty assignment resets the list, as in systemd
      list->clear();
      continue;
    }
    for (auto& w : words(value)) {
      if (!valid_unit_name(w))
        throw Error(Exit::usage, "bad_unit",
                    fmt::format("unit '{}' line {}: {}='{}' is not a valid unit name", shown_as,
                                lineno, key, w));
      list->push_back(std::move(w));
    }
  }
  return u;
}

std::vector<EnableLink> enable_links(std::string_view name, const UnitInstall& install,
                                     std::vector<std::string>& warnings) {
  std::vector<EnableLink> out;
  const std::string unit_path = fmt::format("/etc/systemd/system/{}", name);
  std::string link_name(name);
  // A template (foo@.service) is enabled as its DefaultInstance (foo@x.service).
  const std::size_t at = name.find("@.");
  if (at != std::string_view::npos) {
    if (install.default_instance.empty()) {
      warnings.push_back(fmt::format(
          "unit '{}' is a template without DefaultInstance=: installed, not enabled", name));
      return out;
    }
    link_name =
        fmt::format("{}@{}{}", name.substr(0, at), install.default_instance, name.substr(at + 1));
  }
  for (const auto& t : install.wanted_by)
    out.push_back(
        {fmt::format("/etc/systemd/system/{}.wants/{}", t, link_name), unit_path, t + ".wants"});
  for (const auto& t : install.required_by)
    out.push_back({fmt::format("/etc/systemd/system/{}.requires/{}", t, link_name), unit_path,
                   t + ".requires"});
  for (const auto& a : install.alias) {
    if (a == name) continue;
    out.push_back({fmt::format("/etc/systemd/system/{}", a), unit_path, ""});
  }
  for (const auto& a : install.also)
    warnings.push_back(
        fmt::format("unit '{}': Also={} is not enabled by agent-inject; inject "
                    "that unit too if it is needed",
                    name, a));
  if (install.wanted_by.empty() && install.required_by.empty() && install.alias.empty())
    warnings.push_back(fmt::format(
        "unit '{}' has no WantedBy=, RequiredBy= or Alias= in [Install]: installed, not enabled",
        name));
  return out;
}

}  // namespace vmu::inject
