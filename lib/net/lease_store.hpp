// Leases of guest addresses, one pool at a time. The store is an interface so
// that a host-wide file store today can become a cluster-wide one (etcd)
// later without touching the allocator: all it needs is "run this change on
// one pool's state, atomically, excluding every other writer".
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
};

struct PoolState {
  Cidr pool;
  Ipv4 gateway;
  std::optional<Ipv4> cursor;  // the last address handed out (round-robin)
  std::vector<Lease> leases;

  const Lease* find(const std::string& id) const;
  const Lease* find(Ipv4 ip) const;
};

nlohmann::json to_json(const PoolState& p);
// Throws Exit::failed ("bad_lease_store") naming `origin` when malformed.
PoolState pool_from_json(const nlohmann::json& j, const std::string& origin);

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Runs `change` on the pool's state while excluding every other writer,
  // and commits what it leaves unless it throws. A pool not in the store
  // starts with no leases and `gateway_if_new`.
  virtual void update(const Cidr& pool, Ipv4 gateway_if_new,
                      const std::function<void(PoolState&)>& change) = 0;
  // A consistent snapshot of every pool.
  virtual std::vector<PoolState> snapshot() = 0;
};

// leases/<pool>.json, each pool changed under an flock of leases/<pool>.lock
// and replaced atomically (temp, fsync, rename, fsync folder): a writer
// killed at any instant leaves the old or the new store, never a mix.
class FileLeaseStore : public LeaseStore {
 public:
  // `hook` sees the phases of a commit ("locked", then write_file_atomic's);
  // crash tests stop a writer there. Production passes none.
  explicit FileLeaseStore(std::filesystem::path dir, WriteHook hook = {});
  void update(const Cidr& pool, Ipv4 gateway_if_new,
              const std::function<void(PoolState&)>& change) override;
  std::vector<PoolState> snapshot() override;

  std::filesystem::path store_path(const Cidr& pool) const;

 private:
  std::filesystem::path dir_;
  WriteHook hook_;
};

}  // namespace vmu
