#include "wait/hostnet.hpp"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/fd.hpp"

namespace vmu::wait {

std::string nud_word(std::uint16_t s) {
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

namespace {

constexpr std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

std::optional<std::uint64_t> read_counter(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

class KernelHostNet : public HostNet {
 public:
  std::string neighbour_state(const std::string& dev, const std::string& ip) override {
    in_addr want{};
    if (::inet_pton(AF_INET, ip.c_str(), &want) != 1) return "";
    const unsigned ifindex = dev.empty() ? 0 : ::if_nametoindex(dev.c_str());
    Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return "";
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
    if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
      return "";
    std::string found;
    alignas(nlmsghdr) char buf[16384];
    for (;;) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) return found;  // the kernel answers at once; never hang
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return found;
      // Walk the messages by hand: the NLMSG_* and RTA_* macros cast C-style.
      std::size_t off = 0;
      const auto total = static_cast<std::size_t>(n);
      while (off + sizeof(nlmsghdr) <= total) {
        nlmsghdr h;
        std::memcpy(&h, buf + off, sizeof h);
        if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > total) return found;
        if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) return found;
        const std::size_t body = off + align4(sizeof h);
        if (h.nlmsg_type == RTM_NEWNEIGH && body + sizeof(ndmsg) <= off + h.nlmsg_len) {
          ndmsg nd;
          std::memcpy(&nd, buf + body, sizeof nd);
          const bool dev_ok = ifindex == 0 || static_cast<unsigned>(nd.ndm_ifindex) == ifindex;
          std::size_t a = body + align4(sizeof nd);
          while (nd.ndm_family == AF_INET && dev_ok && a + sizeof(rtattr) <= off + h.nlmsg_len) {
            rtattr ra;
            std::memcpy(&ra, buf + a, sizeof ra);
            if (ra.rta_len < sizeof ra || a + ra.rta_len > off + h.nlmsg_len) break;
            if (ra.rta_type == NDA_DST && ra.rta_len == sizeof ra + sizeof(in_addr) &&
                std::memcmp(buf + a + sizeof ra, &want, sizeof want) == 0)
              found = nud_word(nd.ndm_state);
            a += align4(ra.rta_len);
          }
        }
        off += align4(h.nlmsg_len);
      }
    }
  }

  std::optional<TapCounters> counters(const std::string& dev) override {
    if (dev.empty() || dev.find('/') != std::string::npos) return std::nullopt;
    const std::string base = "/sys/class/net/" + dev + "/statistics/";
    auto rx = read_counter(base + "rx_packets");
    auto tx = read_counter(base + "tx_packets");
    if (!rx || !tx) return std::nullopt;
    return TapCounters{*rx, *tx};
  }
};

}  // namespace

std::unique_ptr<HostNet> kernel_hostnet() {
  return std::make_unique<KernelHostNet>();
}

}  // namespace vmu::wait
