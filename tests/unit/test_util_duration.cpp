#include <catch2/catch.hpp>

#include "util/duration.hpp"
#include "util/error.hpp"

using namespace vmu;
using std::chrono::milliseconds;

TEST_CASE("durations: bare seconds, units, fractions") {
  CHECK(parse_duration("90", "--timeout") == milliseconds(90000));
  CHECK(parse_duration("90s", "--timeout") == milliseconds(90000));
  CHECK(parse_duration("2m", "--timeout") == milliseconds(120000));
  CHECK(parse_duration("2min", "--timeout") == milliseconds(120000));
  CHECK(parse_duration("1500ms", "--timeout") == milliseconds(1500));
  CHECK(parse_duration("1.5s", "--timeout") == milliseconds(1500));
  CHECK(parse_duration("1h", "--timeout") == milliseconds(3600000));
  CHECK(parse_duration("0", "--timeout") == milliseconds(0));
  CHECK(parse_duration("250", "--x", milliseconds(1)) == milliseconds(250));
}

TEST_CASE("durations: bad input names the option and quotes the text") {
  for (const char* bad : {"", "s", "abc", "-5", "5x", "5 s", "1.2.3", "99999h"}) {
    try {
      parse_duration(bad, "--timeout");
      FAIL("accepted '" << bad << "'");
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(std::string(e.what()).find("--timeout") != std::string::npos);
      CHECK(std::string(e.what()).find(std::string("'") + bad + "'") != std::string::npos);
    }
  }
}

TEST_CASE("durations in words") {
  CHECK(format_duration(milliseconds(850)) == "850 ms");
  CHECK(format_duration(milliseconds(9843)) == "9.8 s");
  CHECK(format_duration(milliseconds(125000)) == "2 min 5 s");
  CHECK(format_duration(milliseconds(5400000)) == "1 h 30 min");
  CHECK(format_duration(std::chrono::hours(24 * 30)) == "30 days");
}
