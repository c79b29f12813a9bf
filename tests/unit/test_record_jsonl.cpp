#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "record/jsonl.hpp"

using namespace vmu;

namespace {
// Feeds `data` through a pipe to a LineReader and collects its lines.
std::vector<LineReader::Line> read_all(const std::string& data, std::size_t max) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < data.size()) {
      // Small uneven writes: lines arrive split across reads.
      auto n = ::write(p[1], data.data() + off, std::min<std::size_t>(7, data.size() - off));
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(p[1]);
  });
  LineReader r(p[0], max);
  std::vector<LineReader::Line> out;
  while (auto l = r.next()) out.push_back(*l);
  writer.join();
  ::close(p[0]);
  return out;
}
}  // namespace

TEST_CASE("lines are split however reads cut them; blank lines skipped") {
  auto lines = read_all("a\n\nbb\n  \nccc", 100);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].text == "a");
  CHECK(lines[1].text == "bb");
  CHECK(lines[2].text == "ccc");  // no final newline
  CHECK(lines[2].number == 5);
}

TEST_CASE("an over-long line is reported and skipped, the next one read") {
  std::string big(500, 'x');
  auto lines = read_all("ok1\n" + big + "\nok2\n" + big, 64);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "ok1");
  CHECK(lines[1].too_long);
  CHECK(lines[1].text.empty());
  CHECK(lines[2].text == "ok2");
  CHECK(lines[3].too_long);
}

TEST_CASE("a writer writes whole lines") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  {
    LineWriter w(p[1]);
    CHECK(w.write("{\"a\":1}"));
    CHECK(w.write("x"));
  }
  ::close(p[1]);
  char buf[64] = {};
  auto n = ::read(p[0], buf, sizeof buf);
  ::close(p[0]);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "{\"a\":1}\nx\n");
}
