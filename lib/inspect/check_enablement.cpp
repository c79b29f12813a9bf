// The unit preflight (checker.hpp), enablement: is the unit pulled in from
// the default target at boot, through .wants/.requires links or
// Wants=/Requires=.
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

// --- Enablement --------------------------------------------------------
// The unit the default target names, and where that was decided.
std::pair<std::string, std::string> Checker::default_target() {
  for (auto dir : kUnitDirs) {
    const std::string p = join(dir, "default.target");
    auto st = stat(p, ext4::Follow::no);
    if (!st) continue;
    if (st->type == ext4::FileType::symlink) return {basename_of(st->symlink_target), p};
    return {"default.target", p};
  }
  return {};
}

// Units `target` pulls in: .wants/.requires links and Wants=/Requires=.
void Checker::deps_of(const std::string& target, std::vector<std::pair<std::string, Link>>& out) {
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

void Checker::check_enabled() {
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
                  elsewhere.empty()
                      ? std::string()
                      : fmt::format("; links exist only in {}",
                                    elsewhere.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)),
                  target),
      ev);
}

}  // namespace vmu::inspect::detail
