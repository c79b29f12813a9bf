#include "net/hoststate.hpp"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "util/fd.hpp"
#include "util/fs.hpp"

namespace vmu {

namespace {

std::optional<std::string> sys_text(const std::filesystem::path& p) {
  try {
    auto t = read_file_if_exists(p, 4096);
    if (!t) return std::nullopt;
    while (!t->empty() && (t->back() == '\n' || t->back() == ' ')) t->pop_back();
    return t;
  } catch (const std::exception&) {
    return std::nullopt;  // e.g. EINVAL reading `address` of some devices
  }
}

std::optional<std::uint64_t> sys_number(const std::filesystem::path& p, int base = 10) {
  auto t = sys_text(p);
  if (!t) return std::nullopt;
  std::string_view s = *t;
  if (base == 16 && s.starts_with("0x")) s.remove_prefix(2);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

constexpr std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

}  // namespace

nlohmann::json LinkState::to_json() const {
  nlohmann::json j = {{"name", name}, {"present", present}};
  if (!present) return j;
  j["up"] = up;
  j["operstate"] = operstate;
  j["master"] = master.empty() ? nlohmann::json(nullptr) : nlohmann::json(master);
  j["mac"] = mac;
  j["tap"] = tap;
  j["mtu"] = mtu;
  j["counters"] = counters;
  return j;
}

LinkState read_link_state(const std::string& name) {
  LinkState s;
  s.name = name;
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos ||
      name == "." || name == "..")
    return s;
  const std::filesystem::path dir = std::filesystem::path("/sys/class/net") / name;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return s;
  s.present = true;
  if (auto f = sys_number(dir / "flags", 16)) s.up = (*f & IFF_UP) != 0;
  s.operstate = sys_text(dir / "operstate").value_or("");
  s.mac = sys_text(dir / "address").value_or("");
  s.mtu = static_cast<std::uint32_t>(sys_number(dir / "mtu").value_or(0));
  s.tap = std::filesystem::exists(dir / "tun_flags", ec);
  auto master = std::filesystem::read_symlink(dir / "master", ec);
  if (!ec) s.master = master.filename().string();
  for (const char* c : {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors",
                        "tx_errors", "rx_dropped", "tx_dropped"})
    if (auto v = sys_number(dir / "statistics" / c)) s.counters[c] = *v;
  return s;
}

std::string nud_state_word(std::uint16_t s) {
  if (s & NUD_PERMANENT) return "PERMANENT";
  if (s & NUD_NOARP) return "NOARP";
  if (s & NUD_REACHABLE) return "REACHABLE";
  if (s & NUD_STALE) return "STALE";
  if (s & NUD_DELAY) return "DELAY";
  if (s & NUD_PROBE) return "PROBE";
  if (s & NUD_INCOMPLETE) return "INCOMPLETE";
  if (s & NUD_FAILED) return "FAILED";
  return "NONE";
}

nlohmann::json Neighbour::to_json() const {
  return {{"ip", ip}, {"dev", dev}, {"state", state}, {"lladdr", lladdr}};
}

std::optional<Neighbour> read_neighbour(const std::string& ip, const std::string& dev) {
  in_addr want{};
  if (::inet_pton(AF_INET, ip.c_str(), &want) != 1) return std::nullopt;
  const unsigned ifindex = dev.empty() ? 0 : ::if_nametoindex(dev.c_str());
  if (!dev.empty() && ifindex == 0) return std::nullopt;
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return std::nullopt;
  struct {
    nlmsghdr nh;
    ndmsg nd;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.nd.ndm_family = AF_INET;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
      0)
    return std::nullopt;
  std::optional<Neighbour> found;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return found;  // the kernel answers at once; never hang
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return found;
    // Walked by hand: the NLMSG_*/RTA_* macros cast C-style.
    const auto total = static_cast<std::size_t>(n);
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= total) {
      nlmsghdr h;
      std::memcpy(&h, buf + off, sizeof h);
      if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > total) return found;
      if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) return found;
      const std::size_t end = off + h.nlmsg_len;
      const std::size_t body = off + align4(sizeof h);
      if (h.nlmsg_type == RTM_NEWNEIGH && body + sizeof(ndmsg) <= end) {
        ndmsg nd;
        std::memcpy(&nd, buf + body, sizeof nd);
        const bool dev_ok = ifindex == 0 || static_cast<unsigned>(nd.ndm_ifindex) == ifindex;
        bool match = false;
        std::string lladdr;
        for (std::size_t a = body + align4(sizeof nd);
             nd.ndm_family == AF_INET && dev_ok && a + sizeof(rtattr) <= end;) {
          rtattr ra;
          std::memcpy(&ra, buf + a, sizeof ra);
          if (ra.rta_len < sizeof ra || a + ra.rta_len > end) break;
          const char* data = buf + a + sizeof ra;
          const std::size_t len = ra.rta_len - sizeof ra;
          if (ra.rta_type == NDA_DST && len == sizeof(in_addr) &&
              std::memcmp(data, &want, sizeof want) == 0)
            match = true;
          if (ra.rta_type == NDA_LLADDR && len == 6)
            lladdr = fmt::format(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", static_cast<unsigned char>(data[0]),
                static_cast<unsigned char>(data[1]), static_cast<unsigned char>(data[2]),
                static_cast<unsigned char>(data[3]), static_cast<unsigned char>(data[4]),
                static_cast<unsigned char>(data[5]));
          a += align4(ra.rta_len);
        }
        if (match) {
          char name[IF_NAMESIZE] = {0};
          Neighbour nb;
          nb.ip = ip;
          if (::if_indextoname(static_cast<unsigned>(nd.ndm_ifindex), name)) nb.dev = name;
          nb.state = nud_state_word(nd.ndm_state);
          nb.lladdr = lladdr;
          found = std::move(nb);
        }
      }
      off += align4(h.nlmsg_len);
    }
  }
}

std::optional<Neighbour> guest_neighbour(const std::string& ip, const std::string& bridge) {
  if (!bridge.empty() && ::if_nametoindex(bridge.c_str()) != 0) return read_neighbour(ip, bridge);
  return read_neighbour(ip);
}

}  // namespace vmu
