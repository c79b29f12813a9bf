// The unit preflight (checker.hpp), where systemd finds the unit: the unit
// file (or its template), masking, drop-ins in precedence order, [Install].
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

// --- Where systemd finds the unit ------------------------------------
std::string Checker::template_name() const {
  return unit_template(name_);
}

bool Checker::locate() {
  const UnitFile u = locate_unit(img_, name_);
  switch (u.found) {
    case UnitFile::Found::file:
      unit_path_ = u.path;
      cfg_.add_file(img_.read_file(u.path, kTextLimit), u.path);
      return true;
    case UnitFile::Found::masked:
      add(Severity::error, "unit_masked",
          fmt::format("{} is masked: '{}' is a symlink to /dev/null, so systemd never starts "
                      "it; remove the link (systemctl unmask)",
                      name_, u.path),
          {{"path", u.path}, {"target", "/dev/null"}});
      return false;
    case UnitFile::Found::dangling:
      add(Severity::error, "unit_link_dangling",
          fmt::format("'{}' is a symlink to '{}', which does not exist in the image", u.path,
                      u.link_target),
          {{"path", u.path}, {"target", u.link_target}});
      return false;
    case UnitFile::Found::not_a_file:
      add(Severity::error, "unit_not_a_file",
          fmt::format("'{}' is a {}, not a unit file", u.path, ext4::type_word(u.st->type)),
          stat_evidence(u.path, *u.st));
      return false;
    case UnitFile::Found::none:
      break;
  }
  add(Severity::error, "unit_not_found",
      fmt::format("no unit file for {} in /etc/systemd/system, /lib/systemd/system or "
                  "/usr/lib/systemd/system: systemd cannot load it",
                  name_),
      {{"searched", u.searched}});
  return false;
}

// Drop-ins (NAME.d/*.conf, and the template's and the type's), sorted by
// file name; a name in a folder of higher precedence hides the others.
void Checker::load_dropins() {
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

void Checker::check_install() {
  try {
    (void)inject::parse_unit(img_.read_file(unit_path_, kTextLimit), unit_path_);
  } catch (const Error& e) {
    add(Severity::warning, "install_invalid", e.what(), {{"path", unit_path_}});
  }
}

}  // namespace vmu::inspect::detail
