// vm-wait-ready's HostNet over net/hoststate (the one rtnetlink and sysfs
// reader): what it returns for interfaces that are and are not there.
#include <catch2/catch.hpp>

#include "wait/hostnet.hpp"

using namespace vmu;

TEST_CASE("kernel_hostnet: counters of lo, nothing for what is not an interface") {
  auto net = wait::kernel_hostnet();
  CHECK(net->counters("lo"));
  CHECK_FALSE(net->counters("nosuchdev0"));
  CHECK_FALSE(net->counters("../lo"));
  CHECK_FALSE(net->counters(""));
  CHECK(net->neighbour_state("nosuchdev0", "192.0.2.77").empty());
  CHECK(net->neighbour_state("lo", "not-an-ip").empty());
}
