// vmnet-alloc: lease guest addresses, make the VMs' TAPs, and hand the
// records to the next tool of the pipeline.
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <set>

#include "cli/table.hpp"
#include "cli/tool.hpp"
#include "net/alloc.hpp"
#include "net/etcd_store.hpp"
#include "record/jsonl.hpp"

namespace {

std::optional<uid_t> parse_owner(const std::string& s) {
  if (s.empty()) return std::nullopt;
  uid_t uid = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), uid);
  if (ec == std::errc() && p == s.data() + s.size()) return uid;
  if (const passwd* pw = ::getpwnam(s.c_str())) return pw->pw_uid;
  throw vmu::Error(vmu::Exit::usage, fmt::format("--tap-owner: no user '{}' on this host", s));
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vmnet-alloc",
                      "Lease guest IP addresses from a pool, create each VM's TAP on a bridge, "
                      "and print one record per VM.");
  CLI::App& app = tool.app();
  app.require_subcommand(0, 1);

  std::string pool, gateway, bridge = "fcbr0", tap_prefix = "vmtap", tap_owner, hostsdir,
                             store_spec;
  unsigned count = 1;
  bool create_bridge = false, no_tap = false;
  app.add_option("-p,--pool", pool, "Address pool, e.g. 192.168.100.0/24")
      ->envname("VMUTILS_POOL")
      ->type_name("CIDR");
  app.add_option("--gateway", gateway, "Gateway address (default: the pool's first)")
      ->type_name("IP");
  app.add_option("-n,--count", count, "Number of VMs to allocate")
      ->type_name("N")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  tool.add_id_option(&app, "Id of the new VM (with --count 1; default: generated)");
  app.add_option("-b,--bridge", bridge, "Bridge to attach the TAPs to")->capture_default_str();
  app.add_flag("--create-bridge", create_bridge,
               "Create the bridge, with the gateway address, if missing");
  app.add_option("--tap-prefix", tap_prefix, "TAP names: PREFIX + the address's host index")
      ->capture_default_str();
  app.add_option("--tap-owner", tap_owner, "User allowed to open the TAP (name or uid)")
      ->type_name("USER");
  app.add_flag("--no-tap", no_tap, "Lease only: no TAP, no bridge");
  app.add_option("--dhcp-hostsdir", hostsdir,
                 "Write one MAC,IP,ID file per VM here, for dnsmasq --dhcp-hostsdir")
      ->type_name("DIR");

  app.add_option("--store", store_spec,
                 "Lease store: 'host' (default, the state folder) or "
                 "etcd://HOST:PORT[,HOST:PORT...]/PREFIX, shared by hosts")
      ->envname("VMUTILS_STORE")
      ->type_name("STORE");

  CLI::App* alloc = tool.add_subcommand("alloc", "Lease addresses and make TAPs (the default)");
  CLI::App* release = tool.add_subcommand("release", "Delete the VMs' TAPs and free their leases");
  std::vector<std::string> release_ids;
  release->add_option("ID", release_ids, "VMs to release")->required()->type_name("ID");
  CLI::App* list = tool.add_subcommand("list", "List leases (a table on a terminal)");
  bool all_hosts = false;
  list->add_flag("--all-hosts", all_hosts, "Every host's leases and VM records (etcd store only)");
  CLI::App* gc = tool.add_subcommand("gc", "Free leases of VMs that are gone");
  bool dry_run = false;
  unsigned grace = 60;
  gc->add_flag("--dry-run", dry_run, "Only print what would be freed");
  gc->add_option("--grace", grace, "Never free a lease younger than this (seconds)")
      ->capture_default_str();
  std::string gone_host;
  gc->add_option("--host", gone_host,
                 "Free every lease of this host, which is gone (etcd store only)")
      ->type_name("NAME");
  (void)alloc;

  return tool.main(argc, argv, [&]() -> int {
    vmu::State state = tool.state();
    vmu::OpenedStore opened = vmu::open_lease_store(store_spec, state);
    vmu::LeaseStore& store = *opened.store;
    if (opened.etcd) state.set_registry(opened.etcd->registry());
    auto net = vmu::make_kernel_netdevices();
    vmu::Allocator allocator(store, *net, state, opened.host);
    vmu::LineWriter out(STDOUT_FILENO);

    if (release->parsed()) {
      int rc = 0;
      for (const auto& id : release_ids) {
        try {
          auto r = allocator.release(id);
          const char* what = r == vmu::Allocator::Released::released ? "released" : "already";
          tool.log().info(
              "{}: {}", id,
              r == vmu::Allocator::Released::released ? "released" : "already released");
          out.write(nlohmann::json{{"id", id}, {"release", what}}.dump());
        } catch (const vmu::Error& e) {
          tool.log().error("{}", e.what());
          if (rc == 0) rc = static_cast<int>(e.code());
        }
      }
      return rc;
    }
    if (list->parsed()) {
      if (all_hosts && !opened.etcd)
        throw vmu::Error(vmu::Exit::usage,
                         "--all-hosts needs a store shared by hosts (--store etcd://...)");
      std::vector<nlohmann::json> rows;
      std::set<std::string> leased;
      for (const auto& p : store.snapshot()) {
        if (!pool.empty() && p.pool.str() != pool) continue;
        for (const auto& l : p.leases) {
          if (!all_hosts && !l.host.empty() && l.host != opened.host) continue;
          nlohmann::json row = {{"id", l.id},
                                {"pool", p.pool.str()},
                                {"ip", l.ip.str()},
                                {"mac", l.mac},
                                {"created", l.created}};
          if (!l.tap.empty()) row["tap"] = l.tap;
          if (!l.bridge.empty()) row["bridge"] = l.bridge;
          if (!l.host.empty()) row["host"] = l.host;
          leased.insert(l.id);
          rows.push_back(std::move(row));
        }
      }
      if (all_hosts && pool.empty()) {
        // VMs whose record is mirrored but that hold no lease (released).
        for (const auto& m : opened.etcd->records()) {
          if (leased.contains(m.id)) continue;
          nlohmann::json row = {{"id", m.id}, {"host", m.host}};
          if (m.record.contains("created")) row["created"] = m.record["created"];
          rows.push_back(std::move(row));
        }
      }
      std::vector<vmu::cli::Column> cols = {{"ID", "id"},     {"IP", "ip"},
                                            {"MAC", "mac"},   {"TAP", "tap"},
                                            {"POOL", "pool"}, {"CREATED", "created"}};
      if (opened.etcd) cols.insert(cols.begin() + 1, {"HOST", "host"});
      vmu::cli::print_rows(rows, cols);
      return 0;
    }
    if (gc->parsed()) {
      int rc = 0;
      std::optional<std::string> host;
      if (!gone_host.empty()) host = gone_host;
      for (const auto& s : allocator.gc(std::chrono::seconds(grace), dry_run, host)) {
        nlohmann::json j = {{"id", s.lease.id},
                            {"pool", s.pool.str()},
                            {"ip", s.lease.ip.str()},
                            {"reason", s.reason},
                            {"freed", !dry_run && s.error.empty()}};
        if (!s.lease.tap.empty()) j["tap"] = s.lease.tap;
        if (!s.lease.host.empty()) j["host"] = s.lease.host;
        if (!s.error.empty()) {
          tool.log().error("{}: not freed: {}", s.lease.id, s.error);
          rc = 1;
        } else {
          tool.log().info("{}: {} {} ({})", s.lease.id, dry_run ? "would free" : "freed",
                          s.lease.ip.str(), s.reason);
        }
        out.write(j.dump());
      }
      return rc;
    }

    // alloc
    if (pool.empty())
      throw vmu::Error(vmu::Exit::usage, "--pool is required (or set VMUTILS_POOL)");
    if (tool.has_ids() && count != 1)
      throw vmu::Error(vmu::Exit::usage, "--id names one VM: it cannot be used with --count > 1");
    vmu::AllocRequest req;
    req.pool = vmu::Cidr::parse(pool);
    if (!gateway.empty()) {
      auto gw = vmu::Ipv4::parse(gateway);
      if (!gw)
        throw vmu::Error(vmu::Exit::usage,
                         fmt::format("--gateway '{}' is not an IPv4 address", gateway));
      req.gateway = *gw;
    }
    req.tap = !no_tap;
    req.bridge = bridge;
    req.create_bridge = create_bridge;
    req.tap_prefix = tap_prefix;
    req.tap_owner = parse_owner(tap_owner);
    if (!hostsdir.empty()) req.dhcp_hostsdir = hostsdir;
    req.id = tool.has_ids() ? tool.ids().front() : vmu::generate_vm_id();
    allocator.validate(req);
    allocator.prepare(req);
    for (unsigned i = 0; i < count; ++i) {
      if (vmu::cli::Tool::interrupted())
        throw vmu::Error(vmu::Exit::interrupted, "interrupted",
                         fmt::format("interrupted after {} of {} VMs", i, count));
      if (i > 0 || !tool.has_ids()) req.id = vmu::generate_vm_id();
      vmu::Record rec = allocator.allocate(req);
      const auto& n = rec.get("net");
      tool.log().info("{}: {} {}{}", rec.id(), n.value("ip", ""), n.value("mac", ""),
                      n.contains("tap") ? " on " + n.value("tap", "") : std::string());
      if (!out.write(rec.dump())) return 1;
    }
    return 0;
  });
}
