#include "cli/options.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "clone/grow.hpp"
#include "inject/request.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace vmu::cli {

namespace {

// The name of a one_of validator carries its words, for choices_of().
constexpr std::string_view kChoicesTag = "vmutils-one-of:";

// Optimal string alignment distance: insertions, deletions, substitutions
// and swaps of two neighbours ("lsit" is one step from "list").
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

CLI::Validator range(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || v[0] == '+' || ec != std::errc() || p != v.data() + v.size() || n < lo ||
            n > hi)
          return fmt::format("'{}' is not a number from {} to {}", v, lo, hi);
        return {};
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> words) {
  const std::string name = fmt::format("{}{}", kChoicesTag, fmt::join(words, ","));
  return CLI::Validator(
      [words](std::string& v) -> std::string {
        if (std::find(words.begin(), words.end(), v) != words.end()) return {};
        const auto near = closest(v, words);
        return fmt::format(
            "'{}' is not one of {}{}", v, fmt::join(words, ", "),
            near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near.front()));
      },
      "", name);
}

CLI::Validator size(std::uint64_t multiple) {
  return CLI::Validator(
      [multiple](std::string& v) -> std::string {
        try {
          (void)vmu::parse_size(v, "", multiple);
          return {};
        } catch (const Error& e) {
          return e.what();
        }
      },
      "");
}

CLI::Validator duration(std::chrono::milliseconds lo, std::chrono::milliseconds hi,
                        std::chrono::milliseconds bare_unit) {
  return CLI::Validator(
      [lo, hi, bare_unit](std::string& v) -> std::string {
        std::string why;
        const auto d = vmu::try_parse_duration(v, &why, bare_unit);
        if (!d) return fmt::format("'{}' is not a duration ({}; e.g. 90, 90s, 1500ms, 2m)", v, why);
        if (*d < lo || *d > hi)
          return fmt::format("'{}' is not a duration from {} to {}", v, format_duration(lo),
                             format_duration(hi));
        return {};
      },
      "");
}

CLI::Validator env_key() {
  return CLI::Validator(
      [](std::string& k) -> std::string {
        return inject::valid_env_key(k)
                   ? std::string()
                   : fmt::format("'{}' is not an environment variable name", k);
      },
      "");
}

std::vector<std::string> choices_of(const CLI::Option* opt) {
  // CLI11 2.1 gives validators only through a non-const accessor; reading
  // one changes nothing.
  auto* o = const_cast<CLI::Option*>(opt);
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = o->get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return {};
    }
    const std::string& name = v->get_name();
    if (!name.starts_with(kChoicesTag)) continue;
    std::vector<std::string> words;
    std::string rest = name.substr(kChoicesTag.size());
    for (std::size_t pos = 0; pos <= rest.size();) {
      const std::size_t comma = rest.find(',', pos);
      words.push_back(rest.substr(pos, comma == std::string::npos ? comma : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return words;
  }
}

std::vector<std::string> closest(const std::string& word,
                                 const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& c : candidates) {
    if (c == word) continue;
    std::size_t d = edit_distance(word, c);
    if (word.size() >= 3 && c.starts_with(word)) d = std::min<std::size_t>(d, 1);
    if (d <= limit) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [d, c] : scored)
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  return out;
}

}  // namespace vmu::cli
