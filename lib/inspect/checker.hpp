// Internal to lib/inspect/check*.cpp: the Checker that runs the preflight of
// one unit, split by finding family into check_unit_file.cpp (where systemd
// finds the unit, drop-ins, [Install]), check_enablement.cpp, check_user.cpp
// (User=, Group=, WorkingDirectory=), check_exec.cpp (Exec*= and their
// interpreters), check_environment.cpp, check_network.cpp and
// check_reporter.cpp. Not part of the library's interface: include
// inspect/check.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "inject/unit.hpp"
#include "inspect/check.hpp"
#include "inspect/elf.hpp"
#include "inspect/systemd.hpp"
#include "inspect/tree.hpp"
#include "inspect/units.hpp"
#include "util/error.hpp"

namespace vmu::inspect::detail {

inline constexpr std::size_t kTextLimit = 1u << 20;  // unit files, env files, passwd
inline constexpr int kMaxTargets = 256;              // targets walked from the default
inline constexpr int kMaxInterpreterDepth = 4;       // the kernel's binfmt recursion limit

inline std::string join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

inline std::string basename_of(std::string_view p) {
  const std::size_t s = p.rfind('/');
  return std::string(s == std::string_view::npos ? p : p.substr(s + 1));
}

inline std::string where(const UnitSetting& s) {
  return fmt::format("{}:{}", s.file, s.line);
}

// Who a service's processes run as, for permission checks.
struct Who {
  std::string name = "root";
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> groups;
  std::string home = "/root";
};

enum : unsigned { kRead = 4, kExec = 1 };

inline bool allowed(const Who& who, const ext4::Stat& st, unsigned bit) {
  if (who.uid == 0)  // root: any x bit for files, always for folders and reads
    return bit != kExec || st.type == ext4::FileType::directory || (st.mode & 0111) != 0;
  unsigned m = st.mode & 7;
  if (st.uid == who.uid)
    m = (st.mode >> 6) & 7;
  else if (st.gid == who.gid ||
           std::find(who.groups.begin(), who.groups.end(), st.gid) != who.groups.end())
    m = (st.mode >> 3) & 7;
  return (m & bit) != 0;
}

inline nlohmann::json stat_evidence(const std::string& path, const ext4::Stat& st) {
  return {{"path", path},
          {"type", std::string(ext4::type_word(st.type))},
          {"mode", mode_octal(st.mode)},
          {"uid", st.uid},
          {"gid", st.gid}};
}

class Checker {
 public:
  Checker(const ext4::Image& img, const CheckOptions& opts)
      : img_(img), opts_(opts), name_(unit_name(opts.unit)) {}

  std::vector<Finding> run() {
    for (const auto& k : opts_.require_env)
      if (!valid_env_name(k))
        throw Error(Exit::usage, "bad_env_key",
                    fmt::format("--require-env '{}' is not a variable name (letters, digits, "
                                "'_'; not starting with a digit)",
                                k));
    if (!locate()) {
      check_reporter();
      return std::move(out_);
    }
    load_dropins();
    check_install();
    check_enabled();
    resolve_user();
    check_exec_lines();
    check_workdir();
    check_environment();
    check_network_online();
    check_reporter();
    return std::move(out_);
  }

 private:
  const ext4::Image& img_;
  const CheckOptions& opts_;
  std::string name_;
  std::vector<Finding> out_;
  UnitConfig cfg_;
  std::string unit_path_;
  nlohmann::json dropins_ = nlohmann::json::array();
  Who who_;
  bool who_known_ = true;

  void add(Severity sev, std::string code, std::string message,
           nlohmann::json evidence = nlohmann::json::object()) {
    out_.push_back(Finding{sev, std::move(code), name_, std::move(message), std::move(evidence)});
  }

  std::optional<ext4::Stat> stat(const std::string& p, ext4::Follow f) const {
    try {
      return img_.stat(p, f);
    } catch (const Error& e) {
      if (e.reason() == "not_a_directory") return std::nullopt;
      throw;
    }
  }
  std::optional<std::string> read_text(const std::string& p) const {
    auto st = stat(p, ext4::Follow::yes);
    if (!st || st->type != ext4::FileType::regular) return std::nullopt;
    return img_.read_file(p, kTextLimit);
  }

  // --- Where systemd finds the unit ------------------------------------
  // The template a unit instance (foo@bar.service) is loaded from.
  std::string template_name() const;

  bool locate();

  // Drop-ins (NAME.d/*.conf, and the template's and the type's), sorted by
  // file name; a name in a folder of higher precedence hides the others.
  void load_dropins();

  void check_install();

  // --- Enablement --------------------------------------------------------
  // The unit the default target names, and where that was decided.
  std::pair<std::string, std::string> default_target();

  struct Link {
    std::string path;
    std::string target;
    bool resolves = false;
  };

  // Units `target` pulls in: .wants/.requires links and Wants=/Requires=.
  void deps_of(const std::string& target, std::vector<std::pair<std::string, Link>>& out);

  void check_enabled();

  // --- User= and Group= --------------------------------------------------
  void resolve_user();

  // --- Exec*= --------------------------------------------------------------
  std::string service_path() const;

  // The first executable regular file named `name` in the `path` folders.
  std::optional<std::string> search(const std::string& name, const std::string& path) const;

  // Folders on the way to `path` that the user cannot search (x).
  std::optional<std::string> unsearchable_parent(const std::string& path) const;

  void check_exec_lines();

  void check_exec(const UnitSetting& s, const std::string& type_value);

  // ELF: its loader; #!: its interpreter (through /usr/bin/env too).
  void check_format(const UnitSetting& s, const std::string& path, const ext4::Stat& st,
                    const Who& runner, nlohmann::json ev, int depth);

  void check_interpreter(const UnitSetting& s, const std::string& script, const Shebang& sb,
                         const Who& runner, nlohmann::json ev, int depth);

  bool has_error_for(const UnitSetting& s) const;
  void add_exec_info(const UnitSetting& s, const std::string& script, const nlohmann::json& ev);

  // --- WorkingDirectory= ---------------------------------------------------
  void check_workdir();

  // --- Environment ---------------------------------------------------------
  struct KeySource {
    std::string source;  // "Environment=" setting, or a file
    std::size_t line = 0;
    bool valid = true;
  };

  void check_environment();

  // --- network-online.target ---------------------------------------------
  void check_network_online();
  void check_reporter();
};

}  // namespace vmu::inspect::detail
