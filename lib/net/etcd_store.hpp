// Leases of pools shared by many hosts, and a registry of their VMs, in etcd
// v3. Keys under the PREFIX of --store etcd://HOST:PORT[,...]/PREFIX:
//   PREFIX/pools/<pool>/config              {"v":2,"pool","gateway"}
//   PREFIX/pools/<pool>/cursor              the last address handed out (a hint)
//   PREFIX/pools/<pool>/leases/<a.b.c.d>    one lease (zero-padded, so keys sort
//                                           by address); names host, boot, VM
//   PREFIX/vms/<id>                         {"v":1,"host","record"}
// An address is claimed by one transaction that compares the key's create
// revision with 0: two hosts never get one address. A lease is freed by a
// transaction that compares its mod revision, so a lease freed and claimed
// again meanwhile is never freed by mistake.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/etcd.hpp"
#include "net/lease_store.hpp"
#include "state/state.hpp"

namespace vmu {

// This host's name in a shared store: $VMUTILS_HOST_ID, else /etc/machine-id.
// Throws Exit::failed when neither gives a name (1 to 64 of A-Z a-z 0-9 . _ -).
std::string local_host_id();

class EtcdLeaseStore : public LeaseStore {
 public:
  // `lock_dir` (the state folder's leases/) holds the local locks that
  // serialise this host's frees; `host` names this host in the leases and
  // the mirrored records.
  EtcdLeaseStore(const EtcdUrl& url, std::string host, std::filesystem::path lock_dir,
                 std::shared_ptr<EtcdClient> client = {});
  Claimed claim(const Cidr& pool, std::optional<Ipv4> gateway,
                const std::function<Lease(Ipv4)>& make) override;
  bool free(const Cidr& pool, const Lease& lease,
            const std::function<void()>& before = {}) override;
  std::optional<Lease> find(const Cidr& pool, Ipv4 ip) override;
  std::vector<PoolState> snapshot() override;

  struct Mirrored {
    std::string id;
    std::string host;
    nlohmann::json record;
  };
  // The records every host mirrored (registry()), ordered by id.
  std::vector<Mirrored> records();
  // Mirrors this host's saved records to PREFIX/vms/<id>.
  std::shared_ptr<RecordRegistry> registry();

  const std::string& host() const { return host_; }
  std::string describe() const;  // "etcd://...": for messages

 private:
  std::string pool_key(const Cidr& pool) const;
  std::string lease_key(const Cidr& pool, Ipv4 ip) const;
  std::vector<EtcdKv> range_all(const std::string& from, const std::string& to);

  std::shared_ptr<EtcdClient> etcd_;
  EtcdUrl url_;
  std::string host_;
  std::filesystem::path lock_dir_;
};

// The store a --store value (or $VMUTILS_STORE) names: empty or "host" for
// the state folder's, etcd://... for etcd. Exit::usage for anything else.
struct OpenedStore {
  std::unique_ptr<LeaseStore> store;
  std::string host;                // this host's id in a shared store; empty for the host store
  EtcdLeaseStore* etcd = nullptr;  // when the store is etcd
};
OpenedStore open_lease_store(const std::string& spec, const State& state);

// The registry of VM records a store value names: null for the host store
// (empty or "host"), the etcd mirror (<prefix>/vms/<id>) for etcd://...;
// Exit::usage for anything else. Nothing is sent until a record is saved.
// Every tool attaches it (cli::Tool::state(), from $VMUTILS_STORE), so the
// fleet's copy of a record is as new as the host's.
std::shared_ptr<RecordRegistry> open_record_registry(const std::string& spec);

}  // namespace vmu
