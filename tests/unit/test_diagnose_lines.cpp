#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "diagnose/lines.hpp"

using namespace vmu::diagnose;

namespace {
std::vector<std::string> split(const std::vector<std::string>& chunks, std::size_t max = 4096,
                               bool finish = true) {
  LineAssembler as(max);
  std::vector<std::string> out;
  auto add = [&](std::string_view l) { out.emplace_back(l); };
  for (const auto& c : chunks) as.feed(c, add);
  if (finish) as.finish(add);
  return out;
}
}  // namespace

TEST_CASE("lines: any chunking gives the same lines") {
  const std::string text = "[    0.000000] Linux version 6.1\r\n[FAILED] x\r\r\nlast";
  const std::vector<std::string> want = {"[    0.000000] Linux version 6.1", "[FAILED] x", "last"};
  for (std::size_t step = 1; step <= text.size(); ++step) {
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < text.size(); i += step) chunks.push_back(text.substr(i, step));
    CHECK(split(chunks) == want);
  }
}

TEST_CASE("lines: a partial last line waits for its end, then counts at finish") {
  LineAssembler as;
  std::vector<std::string> out;
  auto add = [&](std::string_view l) { out.emplace_back(l); };
  as.feed("vmguest login: ", add);
  CHECK(out.empty());
  CHECK(as.pending() == "vmguest login: ");
  as.feed("[  42.1] systemd[1]: x\n", add);  // glued to the prompt
  REQUIRE(out.size() == 1);
  CHECK(out[0] == "vmguest login: [  42.1] systemd[1]: x");
  as.feed("tail", add);
  as.finish(add);
  CHECK(out.back() == "tail");
}

TEST_CASE("lines: CR alone ends a line (progress redraws); NULs vanish; empty lines skipped") {
  auto out = split({std::string("a\rb\n\n\n\0c\0d\n", 13)});
  CHECK(out == std::vector<std::string>{"a", "b", "cd"});
}

TEST_CASE("lines: an overlong line is cut at the limit and the rest skipped") {
  auto out = split({std::string(100, 'x') + "\nnext\n"}, 10);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == std::string(10, 'x'));
  CHECK(out[1] == "next");
}

TEST_CASE("clean_line strips ANSI colour, cursor and OSC sequences") {
  CHECK(clean_line(
            "[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mvm-agent.service\x1b[0m - agent.") ==
        "[  OK  ] Started vm-agent.service - agent.");
  CHECK(clean_line("\x1bM\x1b[K[\x1b[0;31m*\x1b[0;1;31m*\x1b[0m] Job x") == "[**] Job x");
  CHECK(clean_line("\x1b]0;title\aafter") == "after");
  CHECK(clean_line("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link");
  CHECK(clean_line("\x1b(Bplain\x1b") == "plain");
  CHECK(clean_line("tab\there  ") == "tab here");
  CHECK(clean_line("bell\x07 del\x7f") == "bell del");
}

TEST_CASE("clean_line keeps valid UTF-8 (systemd's ellipsis) and replaces garbage") {
  CHECK(clean_line("system-modpr\xE2\x80\xA6lice") == "system-modpr\xE2\x80\xA6lice");
  CHECK(clean_line("bad \xff\xfe end") == "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
  CHECK(clean_line("cut \xE2\x80") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(clean_line("overlong \xC0\xAF") == "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(clean_line("surrogate \xED\xA0\x80") == "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}
