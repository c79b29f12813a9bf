// Redaction by value: every occurrence of a secret's value in a text is
// replaced by "[redacted:KEY]", in a stream read in arbitrary chunks, so a
// value split across two reads is still caught. Secrets live only in
// memory here; nothing in this part prints, logs or stores a value.
//
// Values shorter than kMinRedactBytes cannot be told apart from ordinary
// text ("1", "on", "yes"): replacing every occurrence would wipe out the
// evidence. Such a value is replaced where it stands as an assignment,
// "KEY=VALUE" (the env file, a unit printing its environment), and the
// key is reported as `short` so the archive says so; a value that short is
// no secret worth the name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vmu::evidence {

inline constexpr std::size_t kMinRedactBytes = 4;

struct RedactRule {
  std::string needle;       // a secret (never shown)
  std::string replacement;  // "[redacted:KEY]"
};

// The values of an environment file (/etc/environment, EnvironmentFile=),
// by key: the value as written and, when quoted, as systemd and pam_env
// hand it to a process (quotes removed, backslash escapes resolved). The
// last assignment of a key counts, as in systemd.
std::map<std::string, std::vector<std::string>> env_values(std::string_view text);

// The rules for `keys`, with values from `values` (env_values of the
// image's env file). Keys without a value there produce no rule and are
// returned in `absent`; keys whose values are all shorter than
// kMinRedactBytes get the assignment rule only and are returned in `short_`.
struct RuleSet {
  std::vector<RedactRule> rules;
  std::vector<std::string> keys;    // keys with at least one rule
  std::vector<std::string> absent;  // no value in the env file
  std::vector<std::string> short_;  // values too short to search for alone
};
RuleSet make_rules(const std::set<std::string>& keys,
                   const std::map<std::string, std::vector<std::string>>& values);

// The streaming replacer. Leftmost match first, the longest needle at the
// same position; at most (longest needle - 1) bytes are held back between
// feeds. Whole occurrences never pass; when two different secrets overlap
// in the text, the one that starts first is replaced.
class Redactor {
 public:
  explicit Redactor(std::vector<RedactRule> rules);
  // Appends the redacted form of `in` (as far as it is decided) to `out`.
  void feed(std::string_view in, std::string& out);
  // End of the stream: appends what is held back, redacted.
  void finish(std::string& out);
  std::uint64_t replaced() const { return replaced_; }
  std::size_t held() const { return buf_.size(); }

 private:
  void drain(std::string& out, bool final);
  std::vector<RedactRule> rules_;
  std::size_t longest_ = 0;
  std::string buf_;
  std::uint64_t replaced_ = 0;
};

// One whole text at once.
std::string redact(const std::vector<RedactRule>& rules, std::string_view text,
                   std::uint64_t* replaced = nullptr);

// An environment file with the value of every line of `keys` replaced by
// "[redacted:KEY]", whatever its length (the structure is known here).
std::string redact_env_file(std::string_view text, const std::set<std::string>& keys);

}  // namespace vmu::evidence
