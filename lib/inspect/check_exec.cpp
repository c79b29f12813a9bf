// The unit preflight (checker.hpp), Exec*= lines: the command found in the
// image, executable by the service's user, and its format: an ELF's loader,
// a #! interpreter (through /usr/bin/env too).
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

// --- Exec*= --------------------------------------------------------------
std::string Checker::service_path() const {
  std::string path(kServicePath);
  for (const UnitSetting* s : cfg_.all("Service", "Environment"))
    for (const auto& w : split_quoted(s->value))
      if (w.rfind("PATH=", 0) == 0) path = w.substr(5);
  return path;
}

// The first executable regular file named `name` in the `path` folders.
std::optional<std::string> Checker::search(const std::string& name, const std::string& path) const {
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
std::optional<std::string> Checker::unsearchable_parent(const std::string& path) const {
  std::string p;
  const auto parts = ext4::split_guest_path(path);
  for (std::size_t k = 0; k + 1 < parts.size(); ++k) {
    p += "/" + parts[k];
    auto st = stat(p, ext4::Follow::yes);
    if (st && st->type == ext4::FileType::directory && !allowed(who_, *st, kExec)) return p;
  }
  return std::nullopt;
}

void Checker::check_exec_lines() {
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

void Checker::check_exec(const UnitSetting& s, const std::string& type_value) {
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
  const std::string ignored = cmd->ignore_failure() ? " (its '-' prefix makes systemd go on)" : "";
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
    if (auto self = stat(path, ext4::Follow::no)) ev["dangling_symlink_to"] = self->symlink_target;
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
void Checker::check_format(const UnitSetting& s, const std::string& path, const ext4::Stat& st,
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
                 {"interpreter",
                  elf->interpreter ? nlohmann::json(*elf->interpreter) : nlohmann::json(nullptr)}};
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

void Checker::check_interpreter(const UnitSetting& s, const std::string& script, const Shebang& sb,
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

bool Checker::has_error_for(const UnitSetting& s) const {
  const std::string w = where(s);
  return std::any_of(out_.begin(), out_.end(), [&](const Finding& f) {
    return f.severity == Severity::error && f.evidence.contains("setting") &&
           f.evidence["setting"] == w;
  });
}

void Checker::add_exec_info(const UnitSetting& s, const std::string& script,
                            const nlohmann::json& ev) {
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

}  // namespace vmu::inspect::detail
