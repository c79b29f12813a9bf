// The option checks every tool shares (lib/cli/options.cpp).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "cli/options.hpp"

using namespace vmu::cli;

namespace {
std::string run(const CLI::Validator& v, std::string s) {
  return v(s);
}
}  // namespace

TEST_CASE("range: digits only, within the bounds, one message form") {
  const auto r = range(1, 32);
  CHECK(run(r, "1").empty());
  CHECK(run(r, "32").empty());
  for (const char* bad : {"0", "33", "-1", "+3", "", "1x", "99999999999999999999"}) {
    INFO(bad);
    CHECK(run(r, bad) == fmt::format("'{}' is not a number from 1 to 32", bad));
  }
  CHECK(r.get_description().empty());  // nothing added to --help
}

TEST_CASE("one_of: the words, a did-you-mean, and the words kept for completions") {
  const auto v = one_of({"emerg", "warning", "info"});
  CHECK(run(v, "info").empty());
  CHECK(run(v, "warn") == "'warn' is not one of emerg, warning, info (did you mean 'warning'?)");
  CHECK(run(v, "zzz") == "'zzz' is not one of emerg, warning, info");
  CLI::App app;
  std::string s;
  auto* opt = app.add_option("--level", s)->check(v);
  CHECK(choices_of(opt) == std::vector<std::string>{"emerg", "warning", "info"});
  auto* plain = app.add_option("--other", s);
  CHECK(choices_of(plain).empty());
}

TEST_CASE("size: binary units, refused with the value quoted") {
  const auto v = size();
  CHECK(run(v, "2G").empty());
  CHECK(run(v, "1536M").empty());
  CHECK(run(v, "2X").rfind("'2X': unknown unit", 0) == 0);
  CHECK(run(v, "").rfind("'': not a size", 0) == 0);
}

TEST_CASE("duration: parse_duration's forms, bounds, one message form") {
  using namespace std::chrono_literals;
  const auto v = duration(1ms, 10min);
  for (const char* ok : {"90", "90s", "1500ms", "2m", "1.5s", "10min"}) {
    INFO(ok);
    CHECK(run(v, ok).empty());
  }
  CHECK(run(v, "2x") == "'2x' is not a duration (unknown unit 'x'; e.g. 90, 90s, 1500ms, 2m)");
  CHECK(run(v, "") == "'' is not a duration (no number; e.g. 90, 90s, 1500ms, 2m)");
  CHECK(run(v, "-1") == "'-1' is not a duration (no number; e.g. 90, 90s, 1500ms, 2m)");
  CHECK(run(v, "0") == "'0' is not a duration from 1 ms to 10 min 0 s");
  CHECK(run(v, "11m") == "'11m' is not a duration from 1 ms to 10 min 0 s");
  // A bare number in another unit (an old option that took milliseconds).
  const auto in_ms = duration(1ms, 10min, 1ms);
  CHECK(run(in_ms, "600000").empty());
  CHECK_FALSE(run(in_ms, "600001").empty());
  CHECK(v.get_description().empty());
}

TEST_CASE("closest: edits, swaps and prefixes; nothing far off") {
  const std::vector<std::string> subs{"alloc", "release", "list", "gc"};
  CHECK(closest("lsit", subs) == std::vector<std::string>{"list"});
  CHECK(closest("relase", subs) == std::vector<std::string>{"release"});
  CHECK(closest("rel", subs) == std::vector<std::string>{"release"});
  CHECK(closest("xyz", subs).empty());
  CHECK(closest("--poool", {"--pool", "--count"}) == std::vector<std::string>{"--pool"});
}
