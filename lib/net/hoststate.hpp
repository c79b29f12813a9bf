// What the host sees of a VM's network, read-only: the TAP as
// /sys/class/net shows it (present, up, bridge, counters) and the
// neighbour (ARP) entry of the guest's address (rtnetlink). The one reader
// of both, for evidence (vm-logs-archive) and diagnosis (vm-wait-ready's
// wait::HostNet). Never throws: what cannot be read is "absent".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace vmu {

struct LinkState {
  std::string name;
  bool present = false;
  bool up = false;        // IFF_UP
  std::string operstate;  // "up", "down", "unknown", ...
  std::string master;     // the bridge it is attached to, "" none
  std::string mac;        // address
  bool tap = false;       // a TUN/TAP device (tun_flags exists)
  std::uint32_t mtu = 0;
  std::map<std::string, std::uint64_t> counters;  // rx_packets, tx_bytes, ... (statistics/)
  nlohmann::json to_json() const;
};

// /sys/class/net/<name> (of this network namespace: `ip netns exec`
// remounts /sys). A name with '/' or longer than IFNAMSIZ is "absent".
LinkState read_link_state(const std::string& name);

struct Neighbour {
  std::string ip;
  std::string dev;     // the interface the entry is on
  std::string state;   // "REACHABLE", "STALE", "FAILED", "INCOMPLETE", ...
  std::string lladdr;  // the MAC it resolved to, "" none
  nlohmann::json to_json() const;
};

// The IPv4 neighbour entry for `ip` (on `dev` when given); std::nullopt
// when there is none or the table cannot be read.
std::optional<Neighbour> read_neighbour(const std::string& ip, const std::string& dev = {});

// The guest's entry as the host sees it: on `bridge` (the record's
// net.bridge) when that is an interface here, else on any interface (a
// bridge in another namespace, or none named).
std::optional<Neighbour> guest_neighbour(const std::string& ip, const std::string& bridge);

// The NUD_* state bits in words, as `ip neigh` prints them.
std::string nud_state_word(std::uint16_t state);

}  // namespace vmu
