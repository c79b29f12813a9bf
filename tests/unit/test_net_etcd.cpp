#include <catch2/catch.hpp>

#include "net/etcd.hpp"
#include "util/error.hpp"

using namespace vmu;

TEST_CASE("base64 round-trips every length and byte") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("/t/a") == "L3QvYQ==");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7)
    CHECK(base64_decode(base64_encode(all.substr(0, n))) == all.substr(0, n));
  for (const char* bad : {"Zg=", "Z===", "Zg=a", "Zm9v!A==", "=Zg="})
    CHECK_THROWS_AS(base64_decode(bad), Error);
}

TEST_CASE("prefix_end is the first key after every key with the prefix") {
  CHECK(prefix_end("/v/") == "/v0");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("etcd:// addresses: endpoints in order and a prefix") {
  auto u = EtcdUrl::parse("etcd://10.0.0.1:2379,etcd-b.example:2479,[::1]:2579/vmutils/");
  CHECK(u.endpoints ==
        std::vector<std::string>{"10.0.0.1:2379", "etcd-b.example:2479", "[::1]:2579"});
  CHECK(u.prefix == "/vmutils");
  CHECK(EtcdUrl::parse("etcd://h:1/a/b").prefix == "/a/b");
  for (const char* bad : {"http://h:2379/p", "etcd://h:2379", "etcd://h:2379/", "etcd://h/p",
                          "etcd://:2379/p", "etcd://h:0/p", "etcd://h:65536/p", "etcd://h:23x/p",
                          "etcd://h:1,/p", "etcd://h_x:1/p", "etcd://h:1/a b", "etcd://h:1/a?x"}) {
    INFO(bad);
    try {
      EtcdUrl::parse(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(std::string(e.what()).find(bad) != std::string::npos);
    }
  }
}
