#include "inspect/check.hpp"

#include "inject/reporter.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "inject/unit.hpp"
#include "inspect/elf.hpp"
#include "inspect/systemd.hpp"
#include "inspect/tree.hpp"
#include "util/error.hpp"

namespace vmu::inspect {

using inject::kReporterScript;
using inject::kReporterUnit;

std::string_view severity_word(Severity s) {
  switch (s) {
    case Severity::error:
      return "error";
    case Severity::warning:
      return "warning";
    case Severity::info:
      break;
  }
  return "info";
}

nlohmann::json Finding::json() const {
  return {{"severity", std::string(severity_word(severity))},
          {"code", code},
          {"unit", unit},
          {"message", message},
          {"evidence", evidence}};
}

std::string unit_name(const std::string& name) {
  std::string n = name;
  if (!inject::valid_unit_name(n) && inject::valid_unit_name(n + ".service")) n += ".service";
  if (!inject::valid_unit_name(n))
    throw Error(Exit::usage, "bad_unit",
                fmt::format("--unit '{}' is not a unit name systemd accepts (e.g. "
                            "agent.service)",
                            name));
  return n;
}

bool has_errors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::error; });
}

std::string summary(const std::vector<Finding>& findings) {
  std::size_t errors = 0, warnings = 0;
  std::vector<std::string> codes;
  for (const auto& f : findings) {
    if (f.severity == Severity::info) continue;
    (f.severity == Severity::error ? errors : warnings)++;
    if (std::find(codes.begin(), codes.end(), f.code) == codes.end()) codes.push_back(f.code);
  }
  if (errors == 0 && warnings == 0) return "clean";
  std::string list;
  for (const auto& c : codes) list += (list.empty() ? "" : ", ") + c;
  return fmt::format("{} error{}, {} warning{} ({})", errors, errors == 1 ? "" : "s", warnings,
                     warnings == 1 ? "" : "s", list);
}

namespace {

constexpr std::size_t kTextLimit = 1u << 20;  // unit files, env files, passwd
constexpr int kMaxTargets = 256;              // targets walked from the default
constexpr int kMaxInterpreterDepth = 4;       // the kernel's binfmt recursion limit

std::string join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

std::string basename_of(std::string_view p) {
  const std::size_t s = p.rfind('/');
  return std::string(s == std::string_view::npos ? p : p.substr(s + 1));
}

std::string where(const UnitSetting& s) {
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

bool allowed(const Who& who, const ext4::Stat& st, unsigned bit) {
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

nlohmann::json stat_evidence(const std::string& path, const ext4::Stat& st) {
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
  std::string template_name() const {
    const std::size_t at = name_.find('@');
    const std::size_t dot = name_.rfind('.');
    if (at == std::string::npos || dot == std::string::npos || dot <= at + 1) return {};
    return name_.substr(0, at + 1) + name_.substr(dot);
  }

  bool locate() {
    std::vector<std::string> names = {name_};
    if (auto t = template_name(); !t.empty()) names.push_back(t);
    nlohmann::json searched = nlohmann::json::array();
    for (const auto& n : names)
      for (auto dir : kUnitDirs) {
        const std::string p = join(dir, n);
        searched.push_back(p);
        auto self = stat(p, ext4::Follow::no);
        if (!self) continue;
        if (self->type == ext4::FileType::symlink && self->symlink_target == "/dev/null") {
          add(Severity::error, "unit_masked",
              fmt::format("{} is masked: '{}' is a symlink to /dev/null, so systemd never starts "
                          "it; remove the link (systemctl unmask)",
                          name_, p),
              {{"path", p}, {"target", "/dev/null"}});
          return false;
        }
        auto st = stat(p, ext4::Follow::yes);
        if (!st) {
          add(Severity::error, "unit_link_dangling",
              fmt::format("'{}' is a symlink to '{}', which does not exist in the image", p,
                          self->symlink_target),
              {{"path", p}, {"target", self->symlink_target}});
          return false;
        }
        if (st->type != ext4::FileType::regular) {
          add(Severity::error, "unit_not_a_file",
              fmt::format("'{}' is a {}, not a unit file", p, ext4::type_word(st->type)),
              stat_evidence(p, *st));
          return false;
        }
        unit_path_ = p;
        cfg_.add_file(img_.read_file(p, kTextLimit), p);
        return true;
      }
    add(Severity::error, "unit_not_found",
        fmt::format("no unit file for {} in /etc/systemd/system, /lib/systemd/system or "
                    "/usr/lib/systemd/system: systemd cannot load it",
                    name_),
        {{"searched", searched}});
    return false;
  }

  // Drop-ins (NAME.d/*.conf, and the template's and the type's), sorted by
  // file name; a name in a folder of higher precedence hides the others.
  void load_dropins() {
    std::vector<std::string> dirs_names = {name_ + ".d"};
    if (auto t = template_name(); !t.empty()) dirs_names.push_back(t + ".d");
    dirs_names.push_back(name_.substr(name_.rfind('.') + 1) + ".d");  // service.d
    std::map<std::string, std::string> by_name;                       // file name -> path
    for (const auto& dn : dirs_names)
      for (auto dir : kUnitDirs) {
        const std::string d = join(dir, dn);
        auto st = stat(d, ext4::Follow::yes);
        if (!st || st->type != ext4::FileType::directory) continue;
        for (const auto& e : img_.list(d)) {
          if (!e.name.ends_with(".conf")) continue;
          by_name.emplace(e.name, join(d, e.name));  // first (highest precedence) wins
        }
      }
    for (const auto& [file, path] : by_name) {
      auto text = read_text(path);
      if (!text) continue;  // masked (-> /dev/null) or not a file
      cfg_.add_file(*text, path);
      dropins_.push_back(path);
    }
    add(Severity::info, "unit_file",
        fmt::format(
            "{} is loaded from '{}'{}", name_, unit_path_,
            dropins_.empty() ? std::string() : fmt::format(" with {} drop-in(s)", dropins_.size())),
        {{"path", unit_path_}, {"dropins", dropins_}});
  }

  void check_install() {
    try {
      (void)inject::parse_unit(img_.read_file(unit_path_, kTextLimit), unit_path_);
    } catch (const Error& e) {
      add(Severity::warning, "install_invalid", e.what(), {{"path", unit_path_}});
    }
  }

  // --- Enablement --------------------------------------------------------
  // The unit the default target names, and where that was decided.
  std::pair<std::string, std::string> default_target() {
    for (auto dir : kUnitDirs) {
      const std::string p = join(dir, "default.target");
      auto st = stat(p, ext4::Follow::no);
      if (!st) continue;
      if (st->type == ext4::FileType::symlink) return {basename_of(st->symlink_target), p};
      return {"default.target", p};
    }
    return {};
  }

  struct Link {
    std::string path;
    std::string target;
    bool resolves = false;
  };

  // Units `target` pulls in: .wants/.requires links and Wants=/Requires=.
  void deps_of(const std::string& target, std::vector<std::pair<std::string, Link>>& out) {
    for (auto dir : kUnitDirs)
      for (const char* kind : {".wants", ".requires"}) {
        const std::string d = join(dir, target + kind);
        auto st = stat(d, ext4::Follow::yes);
        if (!st || st->type != ext4::FileType::directory) continue;
        for (const auto& e : img_.list(d)) {
          const std::string lp = join(d, e.name);
          Link l{lp, {}, false};
          if (auto self = stat(lp, ext4::Follow::no); self && self->type == ext4::FileType::symlink)
            l.target = self->symlink_target;
          try {
            auto r = stat(lp, ext4::Follow::yes);
            l.resolves = r && r->type == ext4::FileType::regular;
          } catch (const Error&) {
            l.resolves = false;
          }
          out.emplace_back(e.name, std::move(l));
        }
      }
    for (auto dir : kUnitDirs) {
      auto text = read_text(join(dir, target));
      if (!text) continue;
      UnitConfig t;
      t.add_file(*text, join(dir, target));
      for (const char* key : {"Wants", "Requires"})
        for (auto& w : t.words("Unit", key)) out.emplace_back(w, Link{});
      break;
    }
  }

  void check_enabled() {
    auto [target, decided_by] = default_target();
    nlohmann::json ev = {{"default_target", target}};
    if (target.empty()) {
      target = "graphical.target";
      add(Severity::warning, "default_target_missing",
          "no default.target in /etc/systemd/system or /lib/systemd/system: systemd would not "
          "know what to boot into; assuming graphical.target",
          {{"assumed", target}});
      ev["default_target"] = target;
    } else {
      ev["default_target_link"] = decided_by;
    }
    // Breadth first over the targets the default one pulls in.
    std::deque<std::pair<std::string, std::vector<std::string>>> queue = {{target, {target}}};
    std::set<std::string> seen = {target};
    int walked = 0;
    while (!queue.empty() && walked++ < kMaxTargets) {
      auto [t, chain] = queue.front();
      queue.pop_front();
      std::vector<std::pair<std::string, Link>> deps;
      deps_of(t, deps);
      for (auto& [dep, link] : deps) {
        if (dep == name_) {
          ev["chain"] = chain;
          if (!link.path.empty()) {
            ev["link"] = link.path;
            ev["link_target"] = link.target;
          }
          if (!link.path.empty() && !link.resolves) {
            add(Severity::error, "enablement_link_dangling",
                fmt::format("{} is enabled by '{}', but that link points to '{}', which does not "
                            "resolve to a unit file in the image",
                            name_, link.path, link.target),
                ev);
            return;
          }
          add(Severity::info, "enabled",
              fmt::format("{} is started at boot: {} -> {}", name_, fmt::join(chain, " -> "),
                          link.path.empty() ? name_ : link.path),
              ev);
          return;
        }
        if (dep.ends_with(".target") && seen.insert(dep).second && seen.size() < kMaxTargets) {
          auto c = chain;
          c.push_back(dep);
          queue.emplace_back(dep, std::move(c));
        }
      }
    }
    // Not reachable: say where links for it do exist, if anywhere.
    nlohmann::json elsewhere = nlohmann::json::array();
    for (auto dir : kUnitDirs) {
      auto st = stat(std::string(dir), ext4::Follow::yes);
      if (!st || st->type != ext4::FileType::directory) continue;
      for (const auto& e : img_.list(dir)) {
        if (!e.name.ends_with(".wants") && !e.name.ends_with(".requires")) continue;
        const std::string lp = join(join(dir, e.name), name_);
        if (stat(lp, ext4::Follow::no)) elsewhere.push_back(lp);
      }
    }
    ev["links_elsewhere"] = elsewhere;
    std::vector<std::string> wanted_by;
    try {
      auto inst = inject::parse_unit(img_.read_file(unit_path_, kTextLimit), unit_path_);
      wanted_by = inst.wanted_by;
    } catch (const Error&) {
    }
    ev["wanted_by"] = wanted_by;
    add(Severity::error, "not_enabled",
        fmt::format("{} is not started at boot: nothing that {} pulls in wants it{} (enable it "
                    "with a link in /etc/systemd/system/{}.wants/)",
                    name_, target,
                    elsewhere.empty() ? std::string()
                                      : fmt::format("; links exist only in {}", elsewhere.dump()),
                    target),
        ev);
  }

  // --- User= and Group= --------------------------------------------------
  void resolve_user() {
    if (auto d = cfg_.last("Service", "DynamicUser");
        d && (d->value == "yes" || d->value == "true" || d->value == "1")) {
      add(Severity::info, "dynamic_user",
          "DynamicUser= is set: systemd allocates the user at start; permission checks assume "
          "an unprivileged user",
          {{"setting", where(*d)}});
      who_ = Who{"dynamic", 61184, 61184, {}, "/"};
      return;
    }
    const auto passwd_text = read_text("/etc/passwd");
    const auto group_text = read_text("/etc/group");
    const auto users = parse_passwd(passwd_text.value_or(""));
    const auto groups = parse_group(group_text.value_or(""));
    if (const UnitSetting* u = cfg_.last("Service", "User")) {
      auto it = std::find_if(users.begin(), users.end(), [&](const PasswdEntry& e) {
        return e.name == u->value || std::to_string(e.uid) == u->value;
      });
      if (it == users.end()) {
        add(Severity::error, "user_not_found",
            fmt::format("User={} ({}) is not in the image's /etc/passwd{}: the service fails "
                        "with status 217/USER",
                        u->value, where(*u), passwd_text ? "" : " (the image has none)"),
            {{"user", u->value}, {"setting", where(*u)}, {"file", "/etc/passwd"}});
        who_known_ = false;
      } else {
        who_ = Who{it->name, it->uid, it->gid, {}, it->home};
      }
    }
    if (const UnitSetting* g = cfg_.last("Service", "Group")) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& e) {
        return e.name == g->value || std::to_string(e.gid) == g->value;
      });
      if (it == groups.end()) {
        add(Severity::error, "group_not_found",
            fmt::format("Group={} ({}) is not in the image's /etc/group{}: the service fails "
                        "with status 216/GROUP",
                        g->value, where(*g), group_text ? "" : " (the image has none)"),
            {{"group", g->value}, {"setting", where(*g)}, {"file", "/etc/group"}});
      } else {
        who_.gid = it->gid;
      }
    }
    for (const auto& g : groups)
      if (std::find(g.members.begin(), g.members.end(), who_.name) != g.members.end())
        who_.groups.push_back(g.gid);
    for (const auto& w : cfg_.words("Service", "SupplementaryGroups"))
      for (const auto& g : groups)
        if (g.name == w) who_.groups.push_back(g.gid);
  }

  // --- Exec*= --------------------------------------------------------------
  std::string service_path() const {
    std::string path(kServicePath);
    for (const UnitSetting* s : cfg_.all("Service", "Environment"))
      for (const auto& w : split_quoted(s->value))
        if (w.rfind("PATH=", 0) == 0) path = w.substr(5);
    return path;
  }

  // The first executable regular file named `name` in the `path` folders.
  std::optional<std::string> search(const std::string& name, const std::string& path) const {
    std::size_t i = 0;
    while (i <= path.size()) {
      std::size_t j = path.find(':', i);
      if (j == std::string::npos) j = path.size();
      const std::string dir = path.substr(i, j - i);
      i = j + 1;
      if (dir.empty() || dir.front() != '/') continue;
      const std::string p = join(dir, name);
      try {
        auto st = stat(p, ext4::Follow::yes);
        if (st && st->type == ext4::FileType::regular && (st->mode & 0111)) return p;
      } catch (const Error&) {
      }
    }
    return std::nullopt;
  }

  // Folders on the way to `path` that the user cannot search (x).
  std::optional<std::string> unsearchable_parent(const std::string& path) const {
    std::string p;
    const auto parts = ext4::split_guest_path(path);
    for (std::size_t k = 0; k + 1 < parts.size(); ++k) {
      p += "/" + parts[k];
      auto st = stat(p, ext4::Follow::yes);
      if (st && st->type == ext4::FileType::directory && !allowed(who_, *st, kExec)) return p;
    }
    return std::nullopt;
  }

  void check_exec_lines() {
    const auto starts = cfg_.all("Service", "ExecStart");
    const UnitSetting* type = cfg_.last("Service", "Type");
    const std::string type_value = type ? type->value : "simple";
    if (starts.empty()) {
      add(Severity::error, "no_exec_start",
          fmt::format("{} has no ExecStart=: systemd refuses to load it", name_),
          {{"path", unit_path_}});
    } else if (starts.size() > 1 && type_value != "oneshot") {
      add(Severity::error, "multiple_exec_start",
          fmt::format("{} has {} ExecStart= lines but Type={}: only Type=oneshot may have more "
                      "than one; systemd refuses to load it",
                      name_, starts.size(), type_value),
          {{"type", type_value}});
    }
    for (const UnitSetting* s : cfg_.all("Service", "ExecStartPre")) check_exec(*s, type_value);
    for (const UnitSetting* s : starts) check_exec(*s, type_value);
  }

  void check_exec(const UnitSetting& s, const std::string& type_value) {
    auto cmd = parse_exec(s.value);
    if (!cmd) return;
    nlohmann::json ev = {{"setting", where(s)}, {"key", s.key}, {"path", cmd->path}};
    if (!cmd->prefixes.empty()) ev["prefixes"] = cmd->prefixes;
    // '+' and '!' run the command with full privileges, whatever User= says.
    const bool as_root = cmd->prefixes.find('+') != std::string::npos ||
                         (cmd->prefixes.find('!') != std::string::npos &&
                          cmd->prefixes.find("!!") == std::string::npos);
    const Who runner = as_root ? Who{} : who_;
    const Severity missing_sev = cmd->ignore_failure() ? Severity::warning : Severity::error;
    const std::string ignored =
        cmd->ignore_failure() ? " (its '-' prefix makes systemd go on)" : "";
    if (cmd->path.find('%') != std::string::npos || cmd->path.front() == '$') {
      add(Severity::warning, "exec_unresolved",
          fmt::format("{}={} ({}): the path uses a specifier or variable that is only known at "
                      "run time; not checked",
                      s.key, cmd->path, where(s)),
          ev);
      return;
    }
    std::string path = cmd->path;
    if (path.front() != '/') {
      auto found = search(path, std::string(kServicePath));
      if (!found) {
        add(missing_sev, "exec_not_found",
            fmt::format("{}={} ({}): no executable '{}' in {} of the image{}", s.key, cmd->path,
                        where(s), path, kServicePath, ignored),
            ev);
        return;
      }
      path = *found;
      ev["resolved"] = path;
    }
    std::optional<ext4::Stat> st;
    try {
      st = stat(path, ext4::Follow::yes);
    } catch (const Error& e) {
      if (e.reason() != "symlink_loop") throw;
      add(Severity::error, "exec_symlink_loop",
          fmt::format("{}={} ({}): a symlink loop on the way", s.key, path, where(s)), ev);
      return;
    }
    if (!st) {
      if (auto self = stat(path, ext4::Follow::no))
        ev["dangling_symlink_to"] = self->symlink_target;
      add(missing_sev, "exec_not_found",
          fmt::format("{}={} ({}): '{}' does not exist in the image{}; the service fails with "
                      "status 203/EXEC{}",
                      s.key, cmd->path, where(s), path,
                      ev.contains("dangling_symlink_to") ? " (a dangling symlink)" : "",
                      type_value == "simple" && !cmd->ignore_failure()
                          ? " (with Type=simple the console still shows 'Started')"
                          : ignored),
          ev);
      return;
    }
    ev["file"] = stat_evidence(path, *st);
    ev["user"] = runner.name;
    if (st->type != ext4::FileType::regular) {
      add(Severity::error, "exec_not_executable",
          fmt::format("{}={} ({}): '{}' is a {}, not a file", s.key, cmd->path, where(s), path,
                      ext4::type_word(st->type)),
          ev);
      return;
    }
    if (who_known_) {
      if (auto dir = unsearchable_parent(path)) {
        ev["unsearchable"] = *dir;
        add(Severity::error, "exec_not_executable",
            fmt::format("{}={} ({}): user '{}' cannot enter the folder '{}' on the way (no x "
                        "permission)",
                        s.key, cmd->path, where(s), runner.name, *dir),
            ev);
        return;
      }
      if (!allowed(runner, *st, kExec)) {
        add(Severity::error, "exec_not_executable",
            fmt::format("{}={} ({}): '{}' ({} {}:{}) is not executable for user '{}' (uid {}); "
                        "the service fails with status 203/EXEC",
                        s.key, cmd->path, where(s), path, mode_octal(st->mode), st->uid, st->gid,
                        runner.name, runner.uid),
            ev);
        return;
      }
    }
    check_format(s, path, *st, runner, ev, 0);
  }

  // ELF: its loader; #!: its interpreter (through /usr/bin/env too).
  void check_format(const UnitSetting& s, const std::string& path, const ext4::Stat& st,
                    const Who& runner, nlohmann::json ev, int depth) {
    std::string head = img_.read_head(st.inode, kHeadBytes);
    if (is_elf(head)) {
      auto elf = parse_elf(head);
      if (elf && elf->need_bytes > head.size()) {
        head = img_.read_head(st.inode, elf->need_bytes);
        elf = parse_elf(head);
      }
      if (!elf || elf->need_bytes > head.size()) {
        add(Severity::error, "exec_bad_format",
            fmt::format("{} ({}): '{}' starts like an ELF file but its headers are damaged", s.key,
                        where(s), path),
            ev);
        return;
      }
      ev["elf"] = {{"bits", elf->bits},
                   {"machine", machine_name(elf->machine)},
                   {"interpreter", elf->interpreter ? nlohmann::json(*elf->interpreter)
                                                    : nlohmann::json(nullptr)}};
      if (elf->interpreter) {
        std::optional<ext4::Stat> ld;
        try {
          ld = stat(*elf->interpreter, ext4::Follow::yes);
        } catch (const Error& e) {
          if (e.reason() != "symlink_loop") throw;
        }
        if (!ld || ld->type != ext4::FileType::regular) {
          add(Severity::error, "elf_interpreter_not_found",
              fmt::format("{} ({}): '{}' is a dynamically linked {}-bit {} binary whose loader "
                          "'{}' is not in the image; exec fails with ENOENT (status 203/EXEC)",
                          s.key, where(s), path, elf->bits, machine_name(elf->machine),
                          *elf->interpreter),
              ev);
          return;
        }
      }
      if (depth == 0)
        add(Severity::info, "exec",
            fmt::format("{} ({}): '{}' is an ELF binary ({}, {}-bit){}", s.key, where(s), path,
                        machine_name(elf->machine), elf->bits,
                        elf->interpreter ? fmt::format(", loader '{}' present", *elf->interpreter)
                                         : std::string(", statically linked")),
            ev);
      return;
    }
    if (auto sb = parse_shebang(head)) {
      ev["interpreter"] = sb->interpreter;
      if (!sb->arg.empty()) ev["interpreter_arg"] = sb->arg;
      if (!allowed(runner, st, kRead)) {
        add(Severity::error, "exec_not_executable",
            fmt::format("{} ({}): the script '{}' is not readable for user '{}', so its "
                        "interpreter cannot run it",
                        s.key, where(s), path, runner.name),
            ev);
        return;
      }
      if (depth >= kMaxInterpreterDepth) {
        add(Severity::error, "exec_bad_format",
            fmt::format("{} ({}): '{}': interpreters nested deeper than {} (the kernel refuses "
                        "with ELOOP)",
                        s.key, where(s), path, kMaxInterpreterDepth),
            ev);
        return;
      }
      check_interpreter(s, path, *sb, runner, ev, depth);
      return;
    }
    add(Severity::error, "exec_bad_format",
        fmt::format("{} ({}): '{}' is neither an ELF binary nor a script with a #! line{}: exec "
                    "fails with ENOEXEC (status 203/EXEC)",
                    s.key, where(s), path, st.size == 0 ? " (it is empty)" : ""),
        ev);
  }

  void check_interpreter(const UnitSetting& s, const std::string& script, const Shebang& sb,
                         const Who& runner, nlohmann::json ev, int depth) {
    const std::string& interp = sb.interpreter;
    std::optional<ext4::Stat> st;
    if (interp.front() == '/') {
      try {
        st = stat(interp, ext4::Follow::yes);
      } catch (const Error& e) {
        if (e.reason() != "symlink_loop") throw;
      }
    }
    if (!st || st->type != ext4::FileType::regular) {
      add(Severity::error, "interpreter_not_found",
          fmt::format("{} ({}): the script '{}' needs the interpreter '{}' (its #! line), which "
                      "is not in the image; exec fails with ENOENT (status 203/EXEC)",
                      s.key, where(s), script, interp),
          ev);
      return;
    }
    if (!allowed(runner, *st, kExec)) {
      ev["interpreter_file"] = stat_evidence(interp, *st);
      add(Severity::error, "interpreter_not_executable",
          fmt::format("{} ({}): the interpreter '{}' of '{}' ({} {}:{}) is not executable for "
                      "user '{}'",
                      s.key, where(s), interp, script, mode_octal(st->mode), st->uid, st->gid,
                      runner.name),
          ev);
      return;
    }
    // `#!/usr/bin/env NAME`: NAME is searched in the service's PATH.
    if (basename_of(interp) == "env" && !sb.arg.empty()) {
      std::string name;
      auto words = split_quoted(sb.arg);
      for (std::size_t k = 0; k < words.size(); ++k) {
        const std::string& w = words[k];
        if (w == "-S" || w == "--split-string") continue;
        if (w == "-u" || w == "--unset" || w == "-C" || w == "--chdir") {
          ++k;
          continue;
        }
        if (w.front() == '-' || w.find('=') != std::string::npos) continue;
        name = w;
        break;
      }
      if (!name.empty()) {
        const std::string path = service_path();
        ev["env_command"] = name;
        ev["search_path"] = path;
        std::optional<std::string> found =
            name.front() == '/' ? std::optional<std::string>(name) : search(name, path);
        std::optional<ext4::Stat> nst;
        if (found) nst = stat(*found, ext4::Follow::yes);
        if (!found || !nst || nst->type != ext4::FileType::regular) {
          add(Severity::error, "env_interpreter_not_found",
              fmt::format("{} ({}): the script '{}' runs '{}' through {}, but no executable "
                          "'{}' is in the service's PATH ({}) in the image; the service exits "
                          "with status 127",
                          s.key, where(s), script, name, interp, name, path),
              ev);
          return;
        }
        ev["resolved_interpreter"] = *found;
        if (!allowed(runner, *nst, kExec)) {
          add(Severity::error, "interpreter_not_executable",
              fmt::format("{} ({}): '{}' (run by '{}' through env) is not executable for user "
                          "'{}'",
                          s.key, where(s), *found, script, runner.name),
              ev);
          return;
        }
        check_format(s, *found, *nst, runner, ev, depth + 1);
        if (depth == 0 && !has_error_for(s)) add_exec_info(s, script, ev);
        return;
      }
    }
    check_format(s, interp, *st, runner, ev, depth + 1);
    if (depth == 0 && !has_error_for(s)) add_exec_info(s, script, ev);
  }

  bool has_error_for(const UnitSetting& s) const {
    const std::string w = where(s);
    return std::any_of(out_.begin(), out_.end(), [&](const Finding& f) {
      return f.severity == Severity::error && f.evidence.contains("setting") &&
             f.evidence["setting"] == w;
    });
  }
  void add_exec_info(const UnitSetting& s, const std::string& script, const nlohmann::json& ev) {
    // The interpreter's own ELF check added an "exec" info for depth 0 only;
    // the script gets its own line.
    out_.erase(std::remove_if(out_.begin(), out_.end(),
                              [&](const Finding& f) {
                                return f.code == "exec" && f.evidence.contains("setting") &&
                                       f.evidence["setting"] == where(s);
                              }),
               out_.end());
    add(Severity::info, "exec",
        fmt::format("{} ({}): '{}' is a script for '{}', which is present", s.key, where(s), script,
                    ev.contains("resolved_interpreter")
                        ? ev["resolved_interpreter"].get<std::string>()
                        : ev["interpreter"].get<std::string>()),
        ev);
  }

  // --- WorkingDirectory= ---------------------------------------------------
  void check_workdir() {
    const UnitSetting* w = cfg_.last("Service", "WorkingDirectory");
    if (!w) return;
    std::string dir = w->value;
    const bool optional = dir.front() == '-';
    if (optional) dir.erase(0, 1);
    if (dir == "~") dir = who_.home;
    if (dir.empty() || dir.front() != '/') return;  // specifiers: not checked
    nlohmann::json ev = {{"setting", where(*w)}, {"path", dir}};
    auto st = stat(dir, ext4::Follow::yes);
    if (!st) {
      if (optional) return;
      add(Severity::error, "workdir_not_found",
          fmt::format("WorkingDirectory={} ({}) does not exist in the image: the service fails "
                      "with status 200/CHDIR",
                      w->value, where(*w)),
          ev);
    } else if (st->type != ext4::FileType::directory) {
      add(Severity::error, "workdir_not_a_directory",
          fmt::format("WorkingDirectory={} ({}) is a {}, not a folder", w->value, where(*w),
                      ext4::type_word(st->type)),
          ev);
    }
  }

  // --- Environment ---------------------------------------------------------
  struct KeySource {
    std::string source;  // "Environment=" setting, or a file
    std::size_t line = 0;
    bool valid = true;
  };

  void check_environment() {
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
      for (const UnitSetting* s : cfg_.all("Service", "EnvironmentFile"))
        loaded.push_back(s->value);
      add(Severity::error, "env_key_missing",
          fmt::format("{} does not reach the service: not in Environment=, not in any "
                      "EnvironmentFile= it loads, not in /etc/environment",
                      k),
          {{"key", k}, {"environment_files", loaded}});
    }
  }

  // --- network-online.target ---------------------------------------------
  // --- The guest reporter (agent-inject --reporter) ----------------------
  void check_reporter() {
    const std::string unit = join(kUnitDirs[0], kReporterUnit);
    auto text = read_text(unit);
    if (!text) {
      add(Severity::info, "no_reporter",
          "no vmutils guest reporter in the image (agent-inject --reporter): vm-wait-ready will "
          "judge from the console and the host's view of the network only");
      return;
    }
    UnitConfig rc;
    rc.add_file(*text, unit);
    std::string port = "8080", units;
    for (const auto* s : rc.all("Service", "Environment"))
      for (const auto& word : split_quoted(s->value)) {
        if (word.rfind("VMU_REPORT_PORT=", 0) == 0) port = word.substr(16);
        if (word.rfind("VMU_REPORT_UNITS=", 0) == 0) units = word.substr(17);
      }
    nlohmann::json ev = {{"path", unit}, {"port", port}, {"units", split_quoted(units)}};
    const std::string script = std::string(kReporterScript);
    auto st = stat(script, ext4::Follow::yes);
    if (!st || st->type != ext4::FileType::regular) {
      add(Severity::warning, "reporter_script_missing",
          fmt::format("{} is installed but its script {} is missing", kReporterUnit, script), ev);
      return;
    }
    const std::string link =
        join(kUnitDirs[0], "multi-user.target.wants/") + std::string(kReporterUnit);
    if (!stat(link, ext4::Follow::no)) {
      add(Severity::warning, "reporter_not_enabled",
          fmt::format("{} is installed but not enabled ({} is missing): it will not run",
                      kReporterUnit, link),
          ev);
      return;
    }
    const auto watched = split_quoted(units);
    const bool watches_this = std::find(watched.begin(), watched.end(), name_) != watched.end();
    add(Severity::info, "reporter",
        fmt::format("the vmutils guest reporter is installed and enabled: it reports port {} and "
                    "{} on the console for vm-wait-ready{}",
                    port, units.empty() ? "no unit" : units,
                    watches_this ? "" : fmt::format(" ({} is not among them)", name_)),
        ev);
  }

  void check_network_online() {
    const std::string t = "network-online.target";
    auto has = [&](const char* key) {
      auto w = cfg_.words("Unit", key);
      return std::find(w.begin(), w.end(), t) != w.end();
    };
    const bool after = has("After");
    const bool wants = has("Wants") || has("Requires");
    if (!after && !wants) return;
    static constexpr std::string_view kProviders[] = {"systemd-networkd-wait-online.service",
                                                      "NetworkManager-wait-online.service",
                                                      "ifupdown-wait-online.service"};
    nlohmann::json looked = nlohmann::json::array();
    nlohmann::json dangling = nlohmann::json::array();
    for (auto dir : kUnitDirs) {
      const std::string d = join(dir, t + ".wants");
      looked.push_back(d);
      auto st = stat(d, ext4::Follow::yes);
      if (!st || st->type != ext4::FileType::directory) continue;
      for (const auto& e : img_.list(d)) {
        const bool provider = std::find(std::begin(kProviders), std::end(kProviders), e.name) !=
                                  std::end(kProviders) ||
                              e.name.rfind("systemd-networkd-wait-online@", 0) == 0;
        if (!provider) continue;
        const std::string lp = join(d, e.name);
        std::optional<ext4::Stat> r;
        try {
          r = stat(lp, ext4::Follow::yes);
        } catch (const Error&) {
        }
        if (r && r->type == ext4::FileType::regular) {
          if (after && !wants)
            add(Severity::warning, "network_online_not_wanted",
                fmt::format("{} is ordered After={} but does not Wants= it: the ordering only "
                            "matters when something else pulls the target in",
                            name_, t),
                {{"unit", name_}});
          add(Severity::info, "wait_online_provider",
              fmt::format("{} is enabled for {} ('{}')", e.name, t, lp), {{"link", lp}});
          return;
        }
        dangling.push_back(lp);
      }
    }
    add(Severity::error, "no_wait_online_provider",
        fmt::format(
            "{} is ordered after {}, but no wait-online service is enabled for it "
            "(systemd-networkd-wait-online.service or NetworkManager-wait-online.service "
            "linked in {}.wants{}): the target is reached at once, before the network is "
            "up",
            name_, t, t,
            dangling.empty() ? std::string() : fmt::format("; dangling: {}", dangling.dump())),
        {{"after", after}, {"wants", wants}, {"looked_in", looked}, {"dangling", dangling}});
  }
};

}  // namespace

std::vector<Finding> check_unit(const ext4::Image& img, const CheckOptions& opts) {
  return Checker(img, opts).run();
}

std::vector<Finding> check_units(const std::string& image, const std::vector<std::string>& units,
                                 const std::vector<std::string>& require_env) {
  auto img = open_for_inspection(image);
  std::vector<Finding> out;
  for (const auto& u : units) {
    auto f = check_unit(img, {u, require_env});
    out.insert(out.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  return out;
}

}  // namespace vmu::inspect
