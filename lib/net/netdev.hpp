// Network devices: TAPs and bridges. An interface, so the allocator's logic
// (including its rollback) is unit-tested without root; the kernel
// implementation works through /dev/net/tun and ioctls, never by running `ip`.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "net/addr.hpp"

namespace vmu {

class NetDevices {
 public:
  virtual ~NetDevices() = default;
  virtual bool exists(const std::string& name) = 0;
  // A persistent TAP with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, owned by
  // `owner` when given (so an unprivileged VMM can open it).
  virtual void create_tap(const std::string& name, std::optional<uid_t> owner) = 0;
  virtual void delete_tap(const std::string& name) = 0;
  virtual void create_bridge(const std::string& name) = 0;
  virtual void delete_bridge(const std::string& name) = 0;
  virtual void set_address(const std::string& name, Ipv4 addr, int prefix) = 0;
  virtual void set_up(const std::string& name) = 0;
  virtual void attach(const std::string& port, const std::string& bridge) = 0;
};

// The real thing. Errors name the device; a missing CAP_NET_ADMIN says so.
std::unique_ptr<NetDevices> make_kernel_netdevices();

}  // namespace vmu
