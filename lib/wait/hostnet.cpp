#include "wait/hostnet.hpp"

#include "net/hoststate.hpp"

namespace vmu::wait {

namespace {

class KernelHostNet : public HostNet {
 public:
  std::string neighbour_state(const std::string& dev, const std::string& ip) override {
    const auto n = guest_neighbour(ip, dev);
    return n ? n->state : std::string();
  }

  std::optional<TapCounters> counters(const std::string& dev) override {
    const LinkState s = read_link_state(dev);
    const auto rx = s.counters.find("rx_packets"), tx = s.counters.find("tx_packets");
    if (!s.present || rx == s.counters.end() || tx == s.counters.end()) return std::nullopt;
    return TapCounters{rx->second, tx->second};
  }
};

}  // namespace

std::unique_ptr<HostNet> kernel_hostnet() {
  return std::make_unique<KernelHostNet>();
}

}  // namespace vmu::wait
