#include <catch2/catch.hpp>

#include "util/time.hpp"

using namespace vmu;

TEST_CASE("RFC 3339 with milliseconds round-trips") {
  const SysTime t = SysTime(std::chrono::milliseconds(1796196019123LL));
  const std::string s = to_rfc3339_ms(t);
  CHECK(s.size() == 24);
  CHECK(s.substr(19) == ".123Z");
  auto back = parse_rfc3339(s);
  REQUIRE(back);
  // parse_rfc3339 accepts the fraction (and keeps whole seconds).
  CHECK(std::chrono::time_point_cast<std::chrono::seconds>(*back) ==
        std::chrono::time_point_cast<std::chrono::seconds>(t));
  CHECK(to_rfc3339_ms(SysTime(std::chrono::seconds(5))) == "1970-01-01T00:00:05.000Z");
}
