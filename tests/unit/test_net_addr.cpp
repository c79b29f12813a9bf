#include <catch2/catch.hpp>

#include "net/addr.hpp"
#include "util/error.hpp"

using namespace vmu;

TEST_CASE("IPv4 addresses parse strictly") {
  CHECK(Ipv4::parse("192.168.100.6")->value == 0xC0A86406u);
  CHECK(Ipv4::parse("0.0.0.0")->value == 0u);
  CHECK(Ipv4::parse("255.255.255.255")->value == 0xFFFFFFFFu);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4", "a.b.c.d",
                          "1.2.3.4 ", " 1.2.3.4", "1..3.4"})
    CHECK_FALSE(Ipv4::parse(bad).has_value());
  CHECK(Ipv4{0xC0A86406u}.str() == "192.168.100.6");
}

TEST_CASE("CIDR arithmetic") {
  auto c = Cidr::parse("192.168.100.0/24");
  CHECK(c.prefix() == 24);
  CHECK(c.size() == 256);
  CHECK(c.network().str() == "192.168.100.0");
  CHECK(c.broadcast().str() == "192.168.100.255");
  CHECK(c.first_host().str() == "192.168.100.1");
  CHECK(c.last_host().str() == "192.168.100.254");
  CHECK(c.contains(*Ipv4::parse("192.168.100.77")));
  CHECK_FALSE(c.contains(*Ipv4::parse("192.168.101.1")));
  CHECK_FALSE(c.is_host(c.network()));
  CHECK_FALSE(c.is_host(c.broadcast()));
  CHECK(c.file_stem() == "192.168.100.0_24");

  auto small = Cidr::parse("10.0.0.0/30");
  CHECK(small.first_host().str() == "10.0.0.1");
  CHECK(small.last_host().str() == "10.0.0.2");
  auto big = Cidr::parse("10.0.0.0/8");
  CHECK(big.size() == 16777216u);
}

TEST_CASE("malformed pools are usage errors that quote the input") {
  for (const char* bad : {"192.168.100.0", "192.168.100.0/", "192.168.100.0/33", "x/24",
                          "192.168.100.0/31", "192.168.100.0/0", "192.168.100.0/2a"}) {
    try {
      Cidr::parse(bad);
      FAIL("accepted " << bad);
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(std::string(e.what()).find(bad) != std::string::npos);
    }
  }
  try {
    Cidr::parse("192.168.100.5/24");
    FAIL("host bits accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("did you mean 192.168.100.0/24") != std::string::npos);
  }
}

TEST_CASE("the MAC follows from the address") {
  CHECK(mac_for(*Ipv4::parse("192.168.100.6")) == "06:00:c0:a8:64:06");
  CHECK(mac_for(*Ipv4::parse("10.0.0.255")) == "06:00:0a:00:00:ff");
}

TEST_CASE("interface names fit IFNAMSIZ") {
  CHECK(valid_ifname("vmtap6"));
  CHECK(valid_ifname("a23456789012345"));
  CHECK_FALSE(valid_ifname("a234567890123456"));
  CHECK_FALSE(valid_ifname(""));
  CHECK_FALSE(valid_ifname("a/b"));
  CHECK_FALSE(valid_ifname("a b"));
  CHECK_FALSE(valid_ifname(".."));
  // The kernel expands '%d' in a name: "tp%d" would become tp0.
  CHECK_FALSE(valid_ifname("tp%d"));
  CHECK_FALSE(valid_ifname("b%d"));
  CHECK_FALSE(valid_ifname("."));
  CHECK_FALSE(valid_ifname("a:b"));
  for (const char* ws : {"a\tb", "a\nb", "a\vb", "a\fb", "a\rb", "a\x01b", "a\x7f"})
    CHECK_FALSE(valid_ifname(ws));
  CHECK_FALSE(valid_ifname(std::string_view("a\0b", 3)));
}
