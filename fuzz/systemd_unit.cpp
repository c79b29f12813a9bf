// A unit file and a drop-in (inspect's UnitConfig and Exec*= parsing) and
// agent-inject's [Install] parsing with the links it would make.
#include "fuzz.hpp"
#include "inject/unit.hpp"
#include "inspect/systemd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vmu::fuzz::bytes(data, size);
  // The first NUL splits unit file and drop-in.
  const auto cut = text.find('\0');
  const std::string_view unit = text.substr(0, cut);
  const std::string_view dropin = cut == std::string_view::npos ? "" : text.substr(cut + 1);
  try {
    vmu::inspect::UnitConfig c;
    c.add_file(unit, "fuzz.service");
    c.add_file(dropin, "fuzz.service.d/10.conf");
    for (const auto* s : c.all("Service", "ExecStart")) (void)vmu::inspect::parse_exec(s->value);
    for (const auto* s : c.all("Service", "Environment"))
      (void)vmu::inspect::environment_keys(s->value);
    (void)c.words("Unit", "After");
    (void)c.last("Service", "User");
  } catch (const vmu::Error&) {
  }
  try {
    const auto install = vmu::inject::parse_unit(unit, "fuzz@.service");
    std::vector<std::string> warnings;
    for (const auto& l : vmu::inject::enable_links("fuzz@.service", install, warnings))
      if (l.link.find("/../") != std::string::npos) __builtin_trap();  // never out of its folder
  } catch (const vmu::Error&) {
  }
  return 0;
}
