#include <catch2/catch.hpp>

#include "util/error.hpp"
#include "wait/probe.hpp"

using namespace vmu::wait;

TEST_CASE("expected status: one code or a range") {
  auto one = parse_status_range("200");
  CHECK(one.contains(200));
  CHECK_FALSE(one.contains(204));
  CHECK(one.str() == "200");
  auto r = parse_status_range("200-299");
  CHECK(r.contains(200));
  CHECK(r.contains(299));
  CHECK_FALSE(r.contains(300));
  CHECK(r.str() == "200-299");
  for (const char* bad :
       {"", "abc", "99", "600", "299-200", "200-", "-200", "2xx", "200-300-400"}) {
    INFO(bad);
    try {
      parse_status_range(bad);
      FAIL("accepted");
    } catch (const vmu::Error& e) {
      CHECK(e.code() == vmu::Exit::usage);
      CHECK(std::string(e.what()).find(std::string("'") + bad + "'") != std::string::npos);
    }
  }
}
