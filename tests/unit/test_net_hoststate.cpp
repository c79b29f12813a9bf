#include <linux/neighbour.h>
#include <catch2/catch.hpp>

#include "net/hoststate.hpp"

using namespace vmu;

TEST_CASE("read_link_state: lo is there, names that are not interfaces are absent") {
  auto lo = read_link_state("lo");
  CHECK(lo.present);
  CHECK(lo.up);
  CHECK_FALSE(lo.tap);
  CHECK(lo.master.empty());
  CHECK(lo.counters.count("rx_packets") == 1);
  CHECK(lo.to_json()["present"] == true);
  for (const char* bad : {"", "nosuchdev0", "../etc", "a/b", "..", "sixteen-chars-xx"}) {
    INFO(bad);
    auto s = read_link_state(bad);
    CHECK_FALSE(s.present);
    CHECK(s.to_json() == nlohmann::json{{"name", bad}, {"present", false}});
  }
}

TEST_CASE("read_neighbour: no entry, bad input") {
  CHECK_FALSE(read_neighbour("not-an-ip"));
  CHECK_FALSE(read_neighbour("192.0.2.77", "nosuchdev0"));
  CHECK_FALSE(read_neighbour("192.0.2.77"));  // TEST-NET-1: never a neighbour here
}

TEST_CASE("nud_state_word") {
  CHECK(nud_state_word(NUD_REACHABLE) == "REACHABLE");
  CHECK(nud_state_word(NUD_FAILED) == "FAILED");
  CHECK(nud_state_word(NUD_INCOMPLETE) == "INCOMPLETE");
  CHECK(nud_state_word(NUD_STALE) == "STALE");
  CHECK(nud_state_word(0) == "NONE");
}

TEST_CASE("guest_neighbour: on the bridge when it is here, else on any interface") {
  CHECK_FALSE(guest_neighbour("not-an-ip", ""));
  CHECK_FALSE(guest_neighbour("192.0.2.77", "nosuchdev0"));  // falls back; still none
  CHECK_FALSE(guest_neighbour("192.0.2.77", "lo"));
}
