#include "net/alloc.hpp"

#include <unistd.h>

#include <unordered_set>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"
#include "util/time.hpp"

namespace vmu {

namespace {

std::size_t digits(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

nlohmann::json net_section(const PoolState& p, const Lease& l) {
  nlohmann::json j = {{"pool", p.pool.str()},
                      {"ip", l.ip.str()},
                      {"prefix", p.pool.prefix()},
                      {"gateway", p.gateway.str()},
                      {"mac", l.mac}};
  if (!l.tap.empty()) j["tap"] = l.tap;
  if (!l.bridge.empty()) j["bridge"] = l.bridge;
  if (!l.dhcp_host_file.empty()) j["dhcp_host_file"] = l.dhcp_host_file;
  return j;
}

}  // namespace

Ipv4 Allocator::gateway(const AllocRequest& req) const {
  return req.gateway.value_or(req.pool.first_host());
}

std::string Allocator::tap_name(const AllocRequest& req, Ipv4 ip) {
  return fmt::format("{}{}", req.tap_prefix, ip.value - req.pool.network().value);
}

void Allocator::validate(const AllocRequest& req) {
  check_vm_id(req.id);
  const Ipv4 gw = gateway(req);
  if (!req.pool.is_host(gw))
    throw Error(
        Exit::usage, "bad_gateway",
        fmt::format("gateway {} is not a host address of pool {} (use {} to {})", gw.str(),
                    req.pool.str(), req.pool.first_host().str(), req.pool.last_host().str()));
  if (!req.tap) return;
  if (!valid_ifname(req.bridge))
    throw Error(Exit::usage, "bad_name",
                fmt::format("bridge name '{}' is not a valid interface name (1-15 bytes, no "
                            "'/', ':' or spaces)",
                            req.bridge));
  const std::size_t longest = req.tap_prefix.size() + digits(req.pool.size() - 1);
  if (req.tap_prefix.empty() || longest > 15 || !valid_ifname(req.tap_prefix))
    throw Error(Exit::usage, "bad_name",
                fmt::format("TAP prefix '{}' gives names of up to {} bytes for pool {}; "
                            "interface names hold at most 15",
                            req.tap_prefix, longest, req.pool.str()));
  if (!req.create_bridge && !net_.exists(req.bridge))
    throw Error(Exit::usage, "no_bridge",
                fmt::format("bridge '{}' does not exist (pass --create-bridge to create it with "
                            "gateway {}/{})",
                            req.bridge, gw.str(), req.pool.prefix()));
  if (req.dhcp_hostsdir && !req.dhcp_hostsdir->is_absolute())
    throw Error(
        Exit::usage, "bad_path",
        fmt::format("--dhcp-hostsdir '{}' must be an absolute path", req.dhcp_hostsdir->string()));
}

void Allocator::prepare(const AllocRequest& req) {
  if (!req.tap || !req.create_bridge || net_.exists(req.bridge)) return;
  net_.create_bridge(req.bridge);
  try {
    net_.set_address(req.bridge, gateway(req), req.pool.prefix());
    net_.set_up(req.bridge);
  } catch (...) {
    // A bridge without its address would fool the next run: remove it.
    try {
      net_.delete_bridge(req.bridge);
    } catch (const std::exception&) {
      // The first failure is the one to report.
    }
    throw;
  }
}

Record Allocator::allocate(const AllocRequest& req) {
  if (state_.exists(req.id))
    throw Error(Exit::usage, "id_exists",
                fmt::format("VM '{}' exists already (record '{}')", req.id,
                            state_.record_path(req.id).string()));
  Lease lease;
  PoolState pool_after;
  store_.update(req.pool, gateway(req), [&](PoolState& p) {
    if (p.gateway != gateway(req) && req.gateway)
      throw Error(Exit::usage, "bad_gateway",
                  fmt::format("pool {} was set up with gateway {}, not {}", p.pool.str(),
                              p.gateway.str(), req.gateway->str()));
    if (const Lease* l = p.find(req.id))
      throw Error(Exit::usage, "id_exists",
                  fmt::format("VM '{}' already holds a lease on {} in pool {}", req.id, l->ip.str(),
                              p.pool.str()));
    std::unordered_set<std::uint32_t> used;
    for (const auto& l : p.leases) used.insert(l.ip.value);
    const std::uint32_t first = p.pool.first_host().value;
    const std::uint32_t last = p.pool.last_host().value;
    const std::uint64_t span = std::uint64_t{last} - first + 1;
    // Round-robin from after the last address handed out, so an address
    // just freed is not handed out again at once.
    std::uint32_t start = first;
    if (p.cursor && p.pool.contains(*p.cursor) && p.cursor->value >= first &&
        p.cursor->value < last)
      start = p.cursor->value + 1;
    std::optional<Ipv4> chosen;
    for (std::uint64_t i = 0; i < span; ++i) {
      const auto candidate = static_cast<std::uint32_t>(first + (start - first + i) % span);
      if (candidate == p.gateway.value || used.contains(candidate)) continue;
      chosen = Ipv4{candidate};
      break;
    }
    if (!chosen) {
      const std::uint64_t leasable = span - (p.pool.is_host(p.gateway) ? 1 : 0);
      throw Error(Exit::exhausted, "pool_exhausted",
                  fmt::format("pool {} is exhausted: all {} leasable addresses are leased (see "
                              "'vmnet-alloc list'; 'vmnet-alloc gc' frees stale leases)",
                              p.pool.str(), leasable));
    }
    lease.id = req.id;
    lease.ip = *chosen;
    lease.mac = mac_for(*chosen);
    lease.created = now_rfc3339();
    lease.boot_id = boot_id();
    if (req.tap) {
      lease.tap = tap_name(req, *chosen);
      lease.bridge = req.bridge;
    }
    if (req.dhcp_hostsdir) lease.dhcp_host_file = (*req.dhcp_hostsdir / req.id).string();
    p.cursor = *chosen;
    p.leases.push_back(lease);
    pool_after = p;
  });

  // The lease is committed; everything after it is undone on failure.
  bool tap_made = false;
  try {
    if (req.tap) {
      if (net_.exists(lease.tap))
        throw Error(Exit::failed, "tap_exists",
                    fmt::format("TAP '{}' for {} exists already but no lease holds it (left by "
                                "a crash? 'vmnet-alloc gc' or delete it)",
                                lease.tap, lease.ip.str()));
      net_.create_tap(lease.tap, req.tap_owner);
      tap_made = true;
      net_.set_up(lease.tap);
      net_.attach(lease.tap, lease.bridge);
    }
    if (req.dhcp_hostsdir) {
      make_dirs(*req.dhcp_hostsdir, 0755);
      write_file_atomic(lease.dhcp_host_file,
                        fmt::format("{},{},{}\n", lease.mac, lease.ip.str(), lease.id), 0644);
    }
    Record rec = Record::create(req.id);
    rec.put("net", net_section(pool_after, lease));
    state_.save(rec);
    return rec;
  } catch (...) {
    try {
      if (tap_made) net_.delete_tap(lease.tap);
      if (!lease.dhcp_host_file.empty()) ::unlink(lease.dhcp_host_file.c_str());
      std::error_code ec;
      std::filesystem::remove_all(state_.vm_dir(req.id), ec);
      store_.update(req.pool, gateway(req), [&](PoolState& p) {
        std::erase_if(p.leases, [&](const Lease& l) { return l.id == req.id; });
      });
    } catch (const std::exception&) {
      // The first failure is the one to report; gc reclaims what is left.
    }
    throw;
  }
}

void Allocator::free_devices(const Lease& l) {
  if (!l.tap.empty()) net_.delete_tap(l.tap);
  if (!l.dhcp_host_file.empty() && ::unlink(l.dhcp_host_file.c_str()) != 0 && errno != ENOENT)
    throw sys_error(fmt::format("removing DHCP entry '{}'", l.dhcp_host_file), errno);
}

Allocator::Released Allocator::release(const std::string& id) {
  check_vm_id(id);
  for (const auto& pool : store_.snapshot()) {
    const Lease* found = pool.find(id);
    if (!found) continue;
    // Devices first: a lease is never free while its TAP still exists.
    free_devices(*found);
    store_.update(pool.pool, pool.gateway, [&](PoolState& p) {
      std::erase_if(p.leases, [&](const Lease& l) { return l.id == id; });
    });
    return Released::released;
  }
  if (state_.exists(id)) return Released::already;
  throw Error(Exit::usage, "unknown_id",
              fmt::format("unknown VM '{}': no lease and no record (see 'vmnet-alloc list')", id));
}

std::optional<std::string> Allocator::stale_reason(const Lease& l, std::chrono::seconds grace,
                                                   const std::string& boot) const {
  auto created = parse_rfc3339(l.created);
  if (created && std::chrono::system_clock::now() - *created < grace) return std::nullopt;
  if (!l.boot_id.empty() && !boot.empty() && l.boot_id != boot) return "earlier_boot";
  auto rec = state_.load_if_exists(l.id);
  if (!rec) return "no_state";
  const Json& vmm = rec->get("vmm");
  if (vmm.contains("pid") && vmm["pid"].is_number_integer()) {
    std::optional<std::uint64_t> start;
    if (vmm.contains("start_time") && vmm["start_time"].is_number_unsigned())
      start = vmm["start_time"].get<std::uint64_t>();
    if (!process_alive(vmm["pid"].get<pid_t>(), start)) return "vmm_dead";
  }
  return std::nullopt;
}

std::vector<Allocator::Stale> Allocator::gc(std::chrono::seconds grace, bool dry_run) {
  const std::string boot = boot_id();
  std::vector<Stale> out;
  for (const auto& snap : store_.snapshot()) {
    if (dry_run) {
      for (const auto& l : snap.leases)
        if (auto why = stale_reason(l, grace, boot)) out.push_back({snap.pool, l, *why, {}});
      continue;
    }
    // Decide again under the pool's lock: the snapshot may be out of date.
    store_.update(snap.pool, snap.gateway, [&](PoolState& p) {
      std::vector<Lease> keep;
      for (auto& l : p.leases) {
        auto why = stale_reason(l, grace, boot);
        if (!why) {
          keep.push_back(std::move(l));
          continue;
        }
        Stale s{p.pool, l, *why, {}};
        try {
          free_devices(l);
        } catch (const Error& e) {
          s.error = e.what();
          keep.push_back(l);
        }
        out.push_back(std::move(s));
      }
      p.leases = std::move(keep);
    });
  }
  return out;
}

void Allocator::undo(const std::string& id) {
  check_vm_id(id);
  release(id);
  std::error_code ec;
  std::filesystem::remove_all(state_.vm_dir(id), ec);
  if (ec)
    throw Error(Exit::failed, "undo_failed",
                fmt::format("removing '{}': {}", state_.vm_dir(id).string(), ec.message()));
}

}  // namespace vmu
