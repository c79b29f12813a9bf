// The unit preflight (checker.hpp): User=, Group= (the image's passwd and
// group) and WorkingDirectory=.
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

// --- User= and Group= --------------------------------------------------
void Checker::resolve_user() {
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

// --- WorkingDirectory= ---------------------------------------------------
void Checker::check_workdir() {
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

}  // namespace vmu::inspect::detail
