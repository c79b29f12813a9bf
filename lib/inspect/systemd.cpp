#include "inspect/systemd.hpp"

#include <charconv>

namespace vmu::inspect {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  for (;;) {
    const std::size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

std::optional<std::uint32_t> to_u32(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

// --- Unit files ------------------------------------------------------------

void UnitConfig::add_file(std::string_view text, const std::string& file) {
  std::string section;
  std::string pending;  // a line continued with a trailing backslash
  std::size_t pending_line = 0;
  std::size_t lineno = 0;
  for (std::string_view raw : split(text, '\n')) {
    ++lineno;
    std::string_view line = trim(raw);
    if (pending.empty() && line.empty()) continue;
    // Comment lines are skipped, also inside a continued line (systemd >= 239).
    if (!line.empty() && (line.front() == '#' || line.front() == ';')) continue;
    if (pending.empty() && line.front() == '[') {
      const std::size_t end = line.find(']');
      section =
          std::string(line.substr(1, end == std::string_view::npos ? line.size() - 1 : end - 1));
      continue;
    }
    if (!line.empty() && line.back() == '\\') {
      if (pending.empty()) pending_line = lineno;
      pending += std::string(line.substr(0, line.size() - 1));
      pending += ' ';
      continue;
    }
    std::string full = pending.empty() ? std::string(line) : pending + std::string(line);
    const std::size_t at = pending.empty() ? lineno : pending_line;
    pending.clear();
    const std::size_t eq = full.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    settings_.push_back(
        UnitSetting{section, std::string(trim(std::string_view(full).substr(0, eq))),
                    std::string(trim(std::string_view(full).substr(eq + 1))), file, at});
  }
  if (!pending.empty()) {
    const std::size_t eq = pending.find('=');
    if (eq != std::string::npos && !section.empty())
      settings_.push_back(UnitSetting{
          section, std::string(trim(std::string_view(pending).substr(0, eq))),
          std::string(trim(std::string_view(pending).substr(eq + 1))), file, pending_line});
  }
}

std::vector<const UnitSetting*> UnitConfig::all(std::string_view section,
                                                std::string_view key) const {
  std::vector<const UnitSetting*> out;
  for (const auto& s : settings_) {
    if (s.section != section || s.key != key) continue;
    if (s.value.empty())
      out.clear();
    else
      out.push_back(&s);
  }
  return out;
}

const UnitSetting* UnitConfig::last(std::string_view section, std::string_view key) const {
  const UnitSetting* out = nullptr;
  for (const auto& s : settings_)
    if (s.section == section && s.key == key) out = &s;
  return out && !out->value.empty() ? out : nullptr;
}

std::vector<std::string> UnitConfig::words(std::string_view section, std::string_view key) const {
  std::vector<std::string> out;
  for (const UnitSetting* s : all(section, key))
    for (auto& w : split_quoted(s->value)) out.push_back(std::move(w));
  return out;
}

// --- Command lines and assignments -----------------------------------------

std::vector<std::string> split_quoted(std::string_view v) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n')) ++i;
    if (i >= v.size()) break;
    std::string word;
    char quote = 0;
    for (; i < v.size(); ++i) {
      const char c = v[i];
      if (quote) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < v.size()) {
          word += v[++i];
        } else {
          word += c;
        }
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\n') break;
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '\\' && i + 1 < v.size()) {
        word += v[++i];
      } else {
        word += c;
      }
    }
    out.push_back(std::move(word));
  }
  return out;
}

std::optional<ExecCommand> parse_exec(std::string_view value) {
  value = trim(value);
  ExecCommand cmd;
  while (!value.empty() &&
         std::string_view("-@+!:|").find(value.front()) != std::string_view::npos) {
    cmd.prefixes += value.front();
    value.remove_prefix(1);
  }
  auto words = split_quoted(value);
  if (words.empty()) return std::nullopt;
  cmd.path = words.front();
  cmd.args.assign(words.begin() + 1, words.end());
  return cmd;
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> environment_keys(std::string_view value) {
  std::vector<std::string> out;
  for (const auto& w : split_quoted(value)) {
    const std::size_t eq = w.find('=');
    if (eq == std::string::npos) continue;
    std::string key = w.substr(0, eq);
    if (valid_env_name(key)) out.push_back(std::move(key));
  }
  return out;
}

// systemd's env-file grammar (basic/env-file.c), reduced to what decides the
// keys: comments, KEY=, quoted values that may span lines, backslash
// continuation. Values are skipped, never stored.
std::vector<EnvLine> parse_env_file(std::string_view t) {
  std::vector<EnvLine> out;
  std::size_t i = 0, line = 1;
  auto at_end = [&] { return i >= t.size(); };
  while (!at_end()) {
    // Before a key.
    const char c = t[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#' || c == ';') {
      while (!at_end() && t[i] != '\n') ++i;
      continue;
    }
    const std::size_t key_line = line;
    const std::size_t start = i;
    while (!at_end() && t[i] != '=' && t[i] != '\n') ++i;
    if (at_end() || t[i] == '\n') continue;  // no '=': ignored
    std::string key(trim(t.substr(start, i - start)));
    ++i;  // '='
    // The value: quoted parts may span lines; a backslash escapes (also a newline).
    char quote = 0;
    while (!at_end()) {
      const char v = t[i];
      if (quote) {
        if (v == quote) {
          quote = 0;
        } else if (v == '\\' && quote == '"' && i + 1 < t.size()) {
          ++i;
          if (t[i] == '\n') ++line;
        } else if (v == '\n') {
          ++line;
        }
        ++i;
        continue;
      }
      if (v == '\n') break;
      if (v == '"' || v == '\'') {
        quote = v;
      } else if (v == '\\' && i + 1 < t.size()) {
        ++i;
        if (t[i] == '\n') ++line;
      }
      ++i;
    }
    EnvLine e;
    e.line = key_line;
    if (key.rfind("export ", 0) == 0) {
      e.key = std::string(trim(std::string_view(key).substr(7)));
      e.valid = false;
    } else {
      e.key = key;
      e.valid = valid_env_name(key);
    }
    out.push_back(std::move(e));
  }
  return out;
}

// --- Accounts --------------------------------------------------------------

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    auto uid = to_u32(f[2]), gid = to_u32(f[3]);
    if (!uid || !gid || f[0].empty()) continue;
    out.push_back({std::string(f[0]), *uid, *gid, std::string(f[5])});
  }
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = to_u32(f[2]);
    if (!gid || f[0].empty()) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    for (auto m : split(f[3], ','))
      if (!trim(m).empty()) g.members.emplace_back(trim(m));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace vmu::inspect
