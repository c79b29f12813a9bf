// Host-side evidence about a guest's network, behind an interface so the
// logic above it is tested without root: the bridge's neighbour (ARP) entry
// for the guest's address, and the TAP's packet counters (rx: frames the
// guest sent; tx: frames the host sent it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace vmu::wait {

struct TapCounters {
  std::uint64_t rx_packets = 0, tx_packets = 0;
};

class HostNet {
 public:
  virtual ~HostNet() = default;
  // The neighbour state of IPv4 `ip` ("REACHABLE", "STALE", "DELAY",
  // "PROBE", "INCOMPLETE", "FAILED", "NOARP", "PERMANENT"), on `dev` when
  // that is an interface here (else on any); "" when there is no entry.
  // Never throws.
  virtual std::string neighbour_state(const std::string& dev, const std::string& ip) = 0;
  // The TAP's counters; std::nullopt when it is not there. Never throws.
  virtual std::optional<TapCounters> counters(const std::string& dev) = 0;
};

// The host's own state, read by net/hoststate.hpp (rtnetlink, sysfs): the
// one reader, shared with vm-logs-archive.
std::unique_ptr<HostNet> kernel_hostnet();

}  // namespace vmu::wait
