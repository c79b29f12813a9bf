#include "inspect/units.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "inspect/systemd.hpp"
#include "util/error.hpp"

namespace vmu::inspect {

namespace {

constexpr std::size_t kUnitFileLimit = 1u << 20;

// A path under a regular file ("/etc/x/y" with x a file) is simply absent.
std::optional<ext4::Stat> stat_of(const ext4::Image& img, const std::string& p, ext4::Follow f) {
  try {
    return img.stat(p, f);
  } catch (const Error& e) {
    if (e.reason() == "not_a_directory") return std::nullopt;
    throw;
  }
}

std::string str_at(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string unit_template(const std::string& name) {
  const std::size_t at = name.find('@');
  const std::size_t dot = name.rfind('.');
  if (at == std::string::npos || dot == std::string::npos || dot <= at + 1) return {};
  return name.substr(0, at + 1) + name.substr(dot);
}

UnitFile locate_unit(const ext4::Image& img, const std::string& name) {
  UnitFile u;
  std::vector<std::string> names = {name};
  if (auto t = unit_template(name); !t.empty()) names.push_back(t);
  for (const auto& n : names)
    for (std::string_view dir : kUnitDirs) {
      const std::string p = fmt::format("{}/{}", dir, n);
      u.searched.push_back(p);
      auto self = stat_of(img, p, ext4::Follow::no);
      if (!self) continue;
      u.path = p;
      if (self->type == ext4::FileType::symlink && self->symlink_target == "/dev/null") {
        u.found = UnitFile::Found::masked;
        u.link_target = self->symlink_target;
        return u;
      }
      auto st = stat_of(img, p, ext4::Follow::yes);
      if (!st) {
        u.found = UnitFile::Found::dangling;
        u.link_target = self->symlink_target;
        return u;
      }
      u.st = st;
      u.found =
          st->type == ext4::FileType::regular ? UnitFile::Found::file : UnitFile::Found::not_a_file;
      return u;
    }
  return u;
}

std::vector<diagnose::UnitFacts> unit_facts(const nlohmann::json& record,
                                            const std::vector<std::string>& extra,
                                            const ext4::Image* img) {
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::string>> enabled;  // in the record
  if (auto agent = record.find("agent"); agent != record.end() && agent->is_object())
    if (auto us = agent->find("units"); us != agent->end() && us->is_array())
      for (const auto& u : *us) {
        const std::string n = u.is_object() ? str_at(u, "name") : std::string();
        if (n.empty()) continue;
        names.push_back(n);
        auto& e = enabled[n];  // listed in the record, even without enabled_in
        if (auto w = u.find("enabled_in"); w != u.end() && w->is_array())
          for (const auto& x : *w)
            if (x.is_string()) e.push_back(x.get<std::string>());
      }
  for (auto n : extra) {
    if (n.find('.') == std::string::npos) n += ".service";
    names.push_back(n);
  }
  std::vector<diagnose::UnitFacts> out;
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) continue;
    diagnose::UnitFacts f = diagnose::facts_from_name(n);
    auto e = enabled.find(n);
    f.in_record = e != enabled.end();
    if (f.in_record) f.enabled_in = e->second;
    if (img) {
      try {
        const UnitFile file = locate_unit(*img, n);
        if (file.found == UnitFile::Found::file) {
          diagnose::add_unit_file(f, img->read_file(file.path, kUnitFileLimit));
          // An instance's status lines name it with %i resolved.
          const auto at = n.find('@'), dot = n.rfind('.');
          if (at != std::string::npos && dot != std::string::npos && dot > at + 1) {
            const std::string inst = n.substr(at + 1, dot - at - 1);
            for (const char* spec : {"%i", "%I"})
              for (auto p = f.description.find(spec); p != std::string::npos;
                   p = f.description.find(spec, p + inst.size()))
                f.description.replace(p, 2, inst);
          }
        }
      } catch (const std::exception&) {
        // A running VM's image may be mid-write: the name alone will do.
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace vmu::inspect
