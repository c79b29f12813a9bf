#include <catch2/catch.hpp>

#include "clone/grow.hpp"
#include "util/error.hpp"

using vmu::parse_size;

TEST_CASE("clone: parse_size takes binary units") {
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("1536M") == 1536ull << 20);
  CHECK(parse_size("512MiB") == 512ull << 20);
  CHECK(parse_size("64k") == 64ull << 10);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK(parse_size("4GB") == 4ull << 30);
  CHECK(parse_size("1048576") == 1ull << 20);
}

TEST_CASE("parse_size: a plain byte count (vm-logs-archive --max-bytes)") {
  CHECK(parse_size("1500", "--max-bytes", 1) == 1500);
  CHECK(parse_size("2K", "--max-bytes", 1) == 2048);
  CHECK(parse_size("3GB", "--max-bytes", 1) == 3ull << 30);
  for (const char* bad : {"", "0", "-1", "1X", "M", "1.5G", "99999999999T"})
    CHECK_THROWS_AS(parse_size(bad, "--max-bytes", 1), vmu::Error);
}

TEST_CASE("clone: parse_size refuses bad sizes as usage errors") {
  for (const char* bad :
       {"", "G", "-1G", "2X", "0", "0M", "1.5G", "1000", "99999999999999999999T"}) {
    INFO(bad);
    try {
      parse_size(bad);
      FAIL("accepted");
    } catch (const vmu::Error& e) {
      CHECK(e.code() == vmu::Exit::usage);
    }
  }
}

TEST_CASE("clone: run_command captures output and status, never via a shell") {
  auto r = vmu::run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, {});
  CHECK(r.status == 3);
  CHECK(r.output.find("out") != std::string::npos);
  CHECK(r.output.find("err") != std::string::npos);
  // An argument with shell syntax is one argument.
  auto e = vmu::run_command({"echo", "$(id); rm -rf /nonexistent"}, {});
  CHECK(e.status == 0);
  CHECK(e.output == "$(id); rm -rf /nonexistent\n");
  CHECK_THROWS_AS(vmu::run_command({"/nonexistent/program"}, {}), vmu::Error);
}

TEST_CASE("clone: run_command stops the child when asked") {
  int asked = 0;
  try {
    vmu::run_command({"sleep", "30"}, [&] { return ++asked > 2; });
    FAIL("not interrupted");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::interrupted);
  }
}
