// Leases of guest addresses. The store is an interface so that the allocator
// does not know where leases live: on this host (FileLeaseStore) or in etcd,
// shared by many hosts (EtcdLeaseStore, net/etcd_store.hpp). Both keep one
// entry per address, claimed exclusively, so an allocation's cost does not
// depend on how many leases a pool holds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/addr.hpp"
#include "util/fs.hpp"

namespace vmu {

struct Lease {
  std::string id;  // the VM
  Ipv4 ip;
  std::string mac;
  std::string tap;             // empty with --no-tap
  std::string bridge;          // empty with --no-tap
  std::string created;         // RFC 3339
  std::string boot_id;         // the host boot it was made in
  std::string dhcp_host_file;  // empty without --dhcp-hostsdir
  std::string host;            // the host holding it; empty in a host store
  std::int64_t revision = 0;   // etcd's mod_revision of the lease; 0 in a host store
};

struct PoolState {
  Cidr pool;
  Ipv4 gateway;
  std::vector<Lease> leases;  // ordered by address

  const Lease* find(const std::string& id) const;
  const Lease* find(Ipv4 ip) const;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  struct Claimed {
    Ipv4 gateway;  // the pool's
    Lease lease;
  };
  // Claims a free address of `pool` and stores `make(address)` on it,
  // atomically against every other writer. Addresses are tried round-robin
  // after the last one handed out; never the network, broadcast or gateway
  // address. A pool new to the store is created with `gateway` (default:
  // its first host); for an existing pool, a `gateway` other than its own is
  // Exit::usage. Exit::exhausted when no address is free.
  virtual Claimed claim(const Cidr& pool, std::optional<Ipv4> gateway,
                        const std::function<Lease(Ipv4)>& make) = 0;
  // Frees `lease` if its address still holds it (same VM, and in etcd the
  // same revision): under the pool's lock, `before` runs first (it deletes
  // the devices; if it throws, nothing is freed). False when the address no
  // longer holds that lease.
  virtual bool free(const Cidr& pool, const Lease& lease,
                    const std::function<void()>& before = {}) = 0;
  // The lease on `ip`, if any.
  virtual std::optional<Lease> find(const Cidr& pool, Ipv4 ip) = 0;
  // Every pool with its leases, ordered by pool.
  virtual std::vector<PoolState> snapshot() = 0;
};

// A pool's settings ("pool.json", etcd's <pool>/config), shared by both
// stores: {"v":2,"pool","gateway"}. Reading refuses a newer "v" and a pool
// other than `wanted`.
struct PoolConfig {
  Cidr pool;
  Ipv4 gateway;
};
std::string pool_config_to_json(const PoolConfig& c);
PoolConfig pool_config_from_json(std::string_view text, const Cidr& wanted,
                                 const std::string& origin);

// The version of the host store's layout this build writes, and the newest
// it reads. A store of a newer version is refused, never rewritten.
inline constexpr int kLeaseStoreVersion = 2;

// The host store, leases/ of the state folder. Version 2:
//   <pool>/pool.json   {"v":2,"pool","gateway"} (fields not known are kept)
//   <pool>/cursor      the last address handed out (a hint)
//   <pool>/<address>   one lease, JSON, published whole by link(2)
//   <pool>.lock        flock: frees and migration; claims take no lock
// A claim writes the lease to an unnamed file (O_TMPFILE) and links it under
// the address's name, which fails if the address is taken: no two leases on
// one address, and a writer killed at any instant leaves a whole lease or
// none. Nothing is fsynced: a lease lives for one boot of the host (`gc`
// frees those of an earlier boot), so it must survive a killed process, not
// a power cut (docs/architecture.md, "Leases").
// Version 1 (<pool>.json, all leases in one file) is migrated in place, under
// the pool's lock, the first time the pool is used.
class FileLeaseStore : public LeaseStore {
 public:
  // `hook` sees the phases of a change ("claim-written", "claim-linked",
  // "free-locked", "migrate-lease", "migrate-done"); crash tests stop a
  // writer there. Production passes none.
  explicit FileLeaseStore(std::filesystem::path dir, WriteHook hook = {});
  Claimed claim(const Cidr& pool, std::optional<Ipv4> gateway,
                const std::function<Lease(Ipv4)>& make) override;
  bool free(const Cidr& pool, const Lease& lease,
            const std::function<void()>& before = {}) override;
  std::optional<Lease> find(const Cidr& pool, Ipv4 ip) override;
  std::vector<PoolState> snapshot() override;

  std::filesystem::path pool_dir(const Cidr& pool) const;

 private:
  PoolConfig open_pool(const Cidr& pool, std::optional<Ipv4> gateway);
  PoolConfig read_config(const Cidr& pool) const;
  void migrate_v1(const Cidr& pool);
  std::optional<Lease> read_lease(const std::filesystem::path& dir, const Cidr& pool,
                                  Ipv4 ip) const;

  std::filesystem::path dir_;
  WriteHook hook_;
};

// Lease JSON, shared by both stores. Unknown fields are the caller's to keep
// (a lease is written once and never rewritten).
std::string lease_to_json(const Lease& l);
// Throws Exit::failed ("bad_lease_store") naming `origin` when malformed.
Lease lease_from_json(std::string_view text, const std::string& origin);

}  // namespace vmu
