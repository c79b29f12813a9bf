#include "evidence/redact.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vmu::evidence {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool env_name(std::string_view k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "KEY=VALUE" of one line: {key, raw value}; empty key when it is none.
std::pair<std::string_view, std::string_view> assignment(std::string_view line) {
  std::string_view t = trim(line);
  if (t.starts_with("export ")) t = trim(t.substr(7));
  if (t.empty() || t.front() == '#' || t.front() == ';') return {};
  const auto eq = t.find('=');
  if (eq == std::string_view::npos) return {};
  const std::string_view key = trim(t.substr(0, eq));
  if (!env_name(key)) return {};
  return {key, trim(t.substr(eq + 1))};
}

// The value a process sees: quotes removed, escapes in double quotes resolved.
std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
    return std::string(v.substr(1, v.size() - 2));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    v = v.substr(1, v.size() - 2);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) {
        ++i;
        out += v[i];
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return std::string(v);
}

template <class F>
void each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    f(line, nl != std::string_view::npos);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

std::map<std::string, std::vector<std::string>> env_values(std::string_view text) {
  std::map<std::string, std::vector<std::string>> out;
  each_line(text, [&](std::string_view line, bool) {
    auto [key, raw] = assignment(line);
    if (key.empty()) return;
    std::vector<std::string> forms{std::string(raw)};
    std::string plain = unquote(raw);
    if (plain != raw) forms.push_back(std::move(plain));
    out[std::string(key)] = std::move(forms);
  });
  return out;
}

RuleSet make_rules(const std::set<std::string>& keys,
                   const std::map<std::string, std::vector<std::string>>& values) {
  RuleSet rs;
  for (const auto& key : keys) {
    auto it = values.find(key);
    bool any = false, all_short = true;
    const std::string repl = fmt::format("[redacted:{}]", key);
    if (it != values.end()) {
      for (const auto& v : it->second) {
        if (v.empty()) continue;
        any = true;
        if (v.size() >= kMinRedactBytes) {
          all_short = false;
          rs.rules.push_back({v, repl});
        }
        // The assignment form, whatever the length: "KEY=VALUE".
        rs.rules.push_back({key + "=" + v, key + "=" + repl});
      }
    }
    if (!any) {
      rs.absent.push_back(key);
      continue;
    }
    rs.keys.push_back(key);
    if (all_short) rs.short_.push_back(key);
  }
  return rs;
}

Redactor::Redactor(std::vector<RedactRule> rules) : rules_(std::move(rules)) {
  std::erase_if(rules_, [](const RedactRule& r) { return r.needle.empty(); });
  for (const auto& r : rules_) longest_ = std::max(longest_, r.needle.size());
}

void Redactor::drain(std::string& out, bool final) {
  std::size_t pos = 0;
  // Below `safe`, every needle that starts there lies wholly in the buffer.
  const std::size_t safe =
      final ? buf_.size() : (buf_.size() >= longest_ ? buf_.size() - longest_ + 1 : 0);
  // The next occurrence of each needle at or after `pos`, found once and
  // looked for again only when `pos` has passed it.
  constexpr std::size_t kUnknown = std::string::npos - 1;
  std::vector<std::size_t> next(rules_.size(), kUnknown);
  for (;;) {
    std::size_t best = std::string::npos, best_len = 0;
    const RedactRule* rule = nullptr;
    for (std::size_t k = 0; k < rules_.size(); ++k) {
      const RedactRule& r = rules_[k];
      if (next[k] == kUnknown || (next[k] != std::string::npos && next[k] < pos))
        next[k] = buf_.find(r.needle, pos);
      const std::size_t i = next[k];
      if (i == std::string::npos) continue;
      if (i < best || (i == best && r.needle.size() > best_len)) {
        best = i;
        best_len = r.needle.size();
        rule = &r;
      }
    }
    if (rule && best < safe) {
      out.append(buf_, pos, best - pos);
      out += rule->replacement;
      pos = best + best_len;
      ++replaced_;
      continue;
    }
    // No match starts before `safe`: what lies before it is decided.
    const std::size_t upto = std::max(pos, std::min(safe, buf_.size()));
    out.append(buf_, pos, upto - pos);
    buf_.erase(0, upto);
    return;
  }
}

void Redactor::feed(std::string_view in, std::string& out) {
  if (rules_.empty()) {
    out.append(in);
    return;
  }
  buf_.append(in);
  drain(out, false);
}

void Redactor::finish(std::string& out) {
  if (!buf_.empty()) drain(out, true);
}

std::string redact(const std::vector<RedactRule>& rules, std::string_view text,
                   std::uint64_t* replaced) {
  Redactor r(rules);
  std::string out;
  r.feed(text, out);
  r.finish(out);
  if (replaced) *replaced += r.replaced();
  return out;
}

std::string redact_env_file(std::string_view text, const std::set<std::string>& keys) {
  std::string out;
  each_line(text, [&](std::string_view line, bool had_newline) {
    auto [key, raw] = assignment(line);
    if (!key.empty() && keys.count(std::string(key)) && !raw.empty()) {
      const auto at = line.find(key);
      const auto eq = line.find('=', at + key.size());
      out.append(line.substr(0, eq + 1));
      out += fmt::format("[redacted:{}]", key);
    } else {
      out.append(line);
    }
    if (had_newline) out += '\n';
  });
  return out;
}

}  // namespace vmu::evidence
