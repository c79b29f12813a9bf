#include "net/addr.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

std::optional<Ipv4> Ipv4::parse(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  std::uint32_t v = 0;
  int parts = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (parts < 4) {
    unsigned octet = 0;
    const char* start = p;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || octet > 255 || next - start > 3) return std::nullopt;
    if (next - start > 1 && *start == '0') return std::nullopt;  // no octal look-alikes
    v = (v << 8) | octet;
    ++parts;
    p = next;
    if (parts < 4) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return Ipv4{v};
}

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 255, (value >> 8) & 255,
                     value & 255);
}

std::uint32_t Cidr::mask() const {
  return prefix_ == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_);
}

Ipv4 Cidr::broadcast() const {
  return Ipv4{network_.value | ~mask()};
}

Cidr Cidr::parse(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Error(Exit::usage, "bad_pool", fmt::format("pool '{}': {}", s, why));
  };
  const auto slash = s.find('/');
  if (slash == std::string_view::npos)
    throw bad("not a CIDR: write it as ADDRESS/PREFIX, e.g. 192.168.100.0/24");
  auto addr = Ipv4::parse(s.substr(0, slash));
  if (!addr) throw bad("the address is not a dotted IPv4 address");
  int prefix = -1;
  auto ps = s.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), prefix);
  if (ec != std::errc() || ptr != ps.data() + ps.size() || ps.empty() || prefix < 0 || prefix > 32)
    throw bad("the prefix must be a number from 0 to 32");
  if (prefix < 1 || prefix > 30)
    throw bad("the prefix must be /1 to /30, to leave room for a gateway and a guest");
  Cidr c;
  c.prefix_ = prefix;
  c.network_ = Ipv4{addr->value & c.mask()};
  if (c.network_ != *addr)
    throw bad(fmt::format("host bits are set; did you mean {}/{}?", c.network_.str(), prefix));
  return c;
}

std::string Cidr::str() const {
  return fmt::format("{}/{}", network_.str(), prefix_);
}

std::string Cidr::file_stem() const {
  return fmt::format("{}_{}", network_.str(), prefix_);
}

std::string mac_for(Ipv4 a) {
  return fmt::format("06:00:{:02x}:{:02x}:{:02x}:{:02x}", a.value >> 24, (a.value >> 16) & 255,
                     (a.value >> 8) & 255, a.value & 255);
}

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  // The kernel's dev_valid_name() refuses '/', ':' and whitespace; '%' it
  // would expand as a format ("tap%d" becomes tap0), and control bytes have
  // no place in a name an operator must read.
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || c == '%' || u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace vmu
