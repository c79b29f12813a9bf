#include "net/alloc.hpp"

#include <sys/stat.h>
#include <unistd.h>

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

nlohmann::json net_section(const Cidr& pool, Ipv4 gateway, const Lease& l) {
  nlohmann::json j = {{"pool", pool.str()},
                      {"ip", l.ip.str()},
                      {"prefix", pool.prefix()},
                      {"gateway", gateway.str()},
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
                            "'/', ':', '%', whitespace or control characters, not '.' or '..')",
                            req.bridge));
  if (!valid_ifname(req.tap_prefix))
    throw Error(Exit::usage, "bad_name",
                fmt::format("TAP prefix '{}' is not valid in an interface name (no '/', ':', "
                            "'%', whitespace or control characters)",
                            req.tap_prefix));
  const std::size_t longest = req.tap_prefix.size() + digits(req.pool.size() - 1);
  if (longest > 15)
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
  // The VM's state folder, made exclusively: the id is this allocation's
  // alone, also against a concurrent allocation of the same --id.
  make_dirs(state_.vms_dir(), kStateDirMode);
  const fs::path vm_dir = state_.vm_dir(req.id);
  if (::mkdir(vm_dir.c_str(), kStateDirMode) != 0) {
    if (errno == EEXIST)
      throw Error(Exit::usage, "id_exists",
                  fmt::format("VM '{}' exists already (folder '{}')", req.id, vm_dir.string()));
    throw sys_error(fmt::format("creating '{}'", vm_dir.string()), errno);
  }
  std::optional<Lease> lease;
  bool tap_made = false;
  try {
    const std::string boot = boot_id();
    const auto claimed = store_.claim(req.pool, req.gateway, [&](Ipv4 ip) {
      Lease l;
      l.id = req.id;
      l.ip = ip;
      l.mac = mac_for(ip);
      l.created = now_rfc3339();
      l.boot_id = boot;
      l.host = host_;
      if (req.tap) {
        l.tap = tap_name(req, ip);
        l.bridge = req.bridge;
      }
      if (req.dhcp_hostsdir) l.dhcp_host_file = (*req.dhcp_hostsdir / req.id).string();
      return l;
    });
    lease = claimed.lease;
    // The lease is committed; everything after it is undone on failure.
    if (req.tap) {
      if (net_.exists(lease->tap))
        throw Error(Exit::failed, "tap_exists",
                    fmt::format("TAP '{}' for {} exists already but no lease holds it (left by "
                                "a crash? 'vmnet-alloc gc' or delete it)",
                                lease->tap, lease->ip.str()));
      net_.create_tap(lease->tap, req.tap_owner);
      tap_made = true;
      net_.set_up(lease->tap);
      net_.attach(lease->tap, lease->bridge);
    }
    if (req.dhcp_hostsdir) {
      make_dirs(*req.dhcp_hostsdir, 0755);
      write_file_atomic(lease->dhcp_host_file,
                        fmt::format("{},{},{}\n", lease->mac, lease->ip.str(), lease->id), 0644, {},
                        Survives::killed_process);
    }
    Record rec = Record::create(req.id);
    rec.put("net", net_section(req.pool, claimed.gateway, *lease));
    // Only what dies with this boot (the lease, the TAP): not synced. The
    // first tool that adds evidence saves it durably (docs/architecture.md).
    state_.save(rec, Survives::killed_process);
    return rec;
  } catch (...) {
    try {
      if (tap_made) net_.delete_tap(lease->tap);
      if (lease && !lease->dhcp_host_file.empty()) ::unlink(lease->dhcp_host_file.c_str());
      std::error_code ec;
      fs::remove_all(vm_dir, ec);
      if (lease) store_.free(req.pool, *lease);
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
  auto free_one = [&](const Cidr& pool, const Lease& l) {
    // Devices first: a lease is never free while its TAP still exists.
    return store_.free(pool, l, [&] { free_devices(l); });
  };
  // The record says where the lease is: no scan of the store.
  const auto rec = state_.load_if_exists(id);
  if (rec) {
    const Json& net = rec->get("net");
    if (net.is_object() && net.contains("pool") && net["pool"].is_string() && net.contains("ip") &&
        net["ip"].is_string()) {
      auto ip = Ipv4::parse(net["ip"].get<std::string>());
      std::optional<Cidr> pool;
      try {
        pool = Cidr::parse(net["pool"].get<std::string>());
      } catch (const Error&) {
      }
      if (ip && pool) {
        auto l = store_.find(*pool, *ip);
        if (l && l->id == id && mine(*l) && free_one(*pool, *l)) return Released::released;
      }
    }
  }
  bool freed = false;
  for (const auto& pool : store_.snapshot()) {
    for (const auto& l : pool.leases) {
      if (l.id != id) continue;
      if (!mine(l))
        throw Error(Exit::usage, "other_host",
                    fmt::format("VM '{}' is leased {} by host '{}', not this one ('{}'): release "
                                "it there, or 'vmnet-alloc gc --host {}' if that host is gone",
                                id, l.ip.str(), l.host, host_, l.host));
      freed = free_one(pool.pool, l) || freed;
    }
  }
  if (freed) return Released::released;
  if (rec) return Released::already;
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

std::vector<Allocator::Stale> Allocator::gc(std::chrono::seconds grace, bool dry_run,
                                            const std::optional<std::string>& gone_host) {
  if (gone_host && (gone_host->empty() || *gone_host == host_))
    throw Error(Exit::usage, "bad_host",
                host_.empty() ? std::string("--host needs a store shared by hosts (--store "
                                            "etcd://...); a host store holds only this host")
                              : fmt::format("--host '{}' is this host: plain 'vmnet-alloc gc' "
                                            "frees this host's stale leases",
                                            *gone_host));
  struct NotStale {};
  const std::string boot = boot_id();
  std::vector<Stale> out;
  for (const auto& snap : store_.snapshot()) {
    for (const auto& l : snap.leases) {
      if (gone_host) {
        if (l.host != *gone_host) continue;
        Stale s{snap.pool, l, "host_gone", {}};
        // Its devices are on that host: only the lease is freed.
        if (!dry_run && !store_.free(snap.pool, l)) continue;
        if (auto reg = state_.registry(); reg && !dry_run) {
          try {
            reg->remove(l.id);
          } catch (const Error& e) {
            s.error = e.what();
          }
        }
        out.push_back(std::move(s));
        continue;
      }
      if (!mine(l)) continue;
      auto why = stale_reason(l, grace, boot);
      if (!why) continue;
      Stale s{snap.pool, l, *why, {}};
      if (!dry_run) {
        try {
          // Decided again under the pool's lock, the lease verified unchanged.
          const bool freed = store_.free(snap.pool, l, [&] {
            auto again = stale_reason(l, grace, boot);
            if (!again) throw NotStale{};
            s.reason = *again;
            free_devices(l);
          });
          if (!freed) continue;
          if (s.reason == "no_state") {
            // An allocation killed before its record left its folder empty.
            ::rmdir(state_.vm_dir(l.id).c_str());
            if (auto reg = state_.registry()) reg->remove(l.id);
          }
        } catch (const NotStale&) {
          continue;
        } catch (const Error& e) {
          s.error = e.what();
        }
      }
      out.push_back(std::move(s));
    }
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
