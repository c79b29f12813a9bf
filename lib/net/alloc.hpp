// vmnet-alloc's work: lease an address, make the VM's TAP and DHCP entry,
// and undo all of it on failure; release; garbage-collect stale leases.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "net/lease_store.hpp"
#include "net/netdev.hpp"
#include "record/record.hpp"
#include "state/state.hpp"

namespace vmu {

struct AllocRequest {
  Cidr pool;
  std::optional<Ipv4> gateway;  // default: the pool's first address
  std::string id;               // the new VM
  bool tap = true;
  std::string bridge = "fcbr0";
  bool create_bridge = false;
  std::string tap_prefix = "vmtap";
  std::optional<uid_t> tap_owner;
  std::optional<std::filesystem::path> dhcp_hostsdir;
};

class Allocator {
 public:
  // `host` names this host in a store shared by hosts (etcd); leases of
  // other hosts are never touched except by gc(..., gone_host). Empty for the
  // host store, whose leases are all this host's.
  Allocator(LeaseStore& store, NetDevices& net, State state, std::string host = {})
      : store_(store), net_(net), state_(std::move(state)), host_(std::move(host)) {}

  // Checks everything that can be checked before anything changes: names
  // fit IFNAMSIZ, the gateway is a host of the pool, the bridge exists (or
  // is to be created). Throws Exit::usage.
  void validate(const AllocRequest& req);
  // Creates the bridge with the gateway address when asked and missing.
  void prepare(const AllocRequest& req);
  // Lease + TAP + DHCP entry + saved record, or nothing at all.
  Record allocate(const AllocRequest& req);

  enum class Released { released, already };
  // Deletes the TAP, removes the DHCP entry, frees the lease (found through
  // the record's net section, else by a scan of the store). A VM whose lease
  // is already gone but whose record exists is "already" released; an id
  // known to neither, or leased by another host, is Exit::usage.
  Released release(const std::string& id);
  // Takes back a VM that allocate() made but nobody received (the next
  // program of the pipe exited): its TAP, DHCP entry and lease, as
  // release() does, and its state folder, as if it had never been made.
  void undo(const std::string& id);

  struct Stale {
    Cidr pool;
    Lease lease;
    std::string reason;  // "no_state", "vmm_dead", "earlier_boot", "host_gone"
    std::string error;   // set when freeing it failed
  };
  // Frees this host's leases whose VM state is gone, whose VMM process (pid
  // + start time) is dead, or that were made in an earlier boot of the host;
  // never one younger than `grace`, so gc cannot race an allocation in
  // progress. With `gone_host`, frees every lease of that host instead (an
  // operator's decision that it is gone; its devices are not ours to
  // delete); naming this host is Exit::usage.
  std::vector<Stale> gc(std::chrono::seconds grace, bool dry_run,
                        const std::optional<std::string>& gone_host = std::nullopt);

  static std::string tap_name(const AllocRequest& req, Ipv4 ip);

 private:
  Ipv4 gateway(const AllocRequest& req) const;
  std::optional<std::string> stale_reason(const Lease& l, std::chrono::seconds grace,
                                          const std::string& boot) const;
  void free_devices(const Lease& l);
  bool mine(const Lease& l) const { return l.host.empty() || l.host == host_; }

  LeaseStore& store_;
  NetDevices& net_;
  State state_;
  std::string host_;
};

}  // namespace vmu
