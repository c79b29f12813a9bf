// The unit preflight (checker.hpp), network-online.target: when the unit is
// ordered after it, is a wait-online provider enabled, so that the target
// means the network is up.
#include "inspect/checker.hpp"

namespace vmu::inspect::detail {

// --- network-online.target ---------------------------------------------
void Checker::check_network_online() {
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
      const bool provider =
          std::find(std::begin(kProviders), std::end(kProviders), e.name) != std::end(kProviders) ||
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
      fmt::format("{} is ordered after {}, but no wait-online service is enabled for it "
                  "(systemd-networkd-wait-online.service or NetworkManager-wait-online.service "
                  "linked in {}.wants{}): the target is reached at once, before the network is "
                  "up",
                  name_, t, t,
                  dangling.empty()
                      ? std::string()
                      : fmt::format("; dangling: {}",
                                    dangling.dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace))),
      {{"after", after}, {"wants", wants}, {"looked_in", looked}, {"dangling", dangling}});
}

}  // namespace vmu::inspect::detail
