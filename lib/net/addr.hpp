// IPv4 addresses, pools (CIDR) and the MAC that follows from an address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmu {

struct Ipv4 {
  std::uint32_t value = 0;  // host byte order

  static std::optional<Ipv4> parse(std::string_view s);
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;
};

class Cidr {
 public:
  // "192.168.100.0/24". Throws Exit::usage quoting the input when malformed,
  // when host bits are set (suggesting the network), or when the prefix
  // leaves no room for a gateway and a guest (/1 to /30 accepted).
  static Cidr parse(std::string_view s);

  Ipv4 network() const { return network_; }
  int prefix() const { return prefix_; }
  std::uint32_t mask() const;
  Ipv4 broadcast() const;
  Ipv4 first_host() const { return Ipv4{network_.value + 1}; }
  Ipv4 last_host() const { return Ipv4{broadcast().value - 1}; }
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_); }
  bool contains(Ipv4 a) const { return (a.value & mask()) == network_.value; }
  // Network and broadcast addresses are never handed out.
  bool is_host(Ipv4 a) const { return contains(a) && a != network_ && a != broadcast(); }
  std::string str() const;
  // A file name for the pool: "192.168.100.0_24".
  std::string file_stem() const;
  auto operator<=>(const Cidr&) const = default;

 private:
  Ipv4 network_;
  int prefix_ = 0;
};

// Locally administered unicast MAC from the address, Firecracker's
// convention: 06:00:AA:BB:CC:DD.
std::string mac_for(Ipv4 a);

// Interface names: 1 to 15 bytes (IFNAMSIZ - 1), not "." or "..", no '/',
// ':', '%' (the kernel expands "%d"), whitespace or control bytes.
bool valid_ifname(std::string_view name);

}  // namespace vmu
