#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "ext4_test_image.hpp"
#include "inspect/diff.hpp"
#include "inspect/tree.hpp"
#include "util/error.hpp"

using namespace vmu;
using namespace vmu::inspect;

namespace {

struct Tree {
  std::filesystem::path dir;
  Tree() {
    char tmpl[] = "/tmp/vmu-inspect-test.XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Tree() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path image(const std::string& name, const std::string& size = "64M") {
    auto img = dir / (name + ".ext4");
    if (test::run_quiet({"mke2fs", "-q", "-F", "-t", "ext4", "-d", (dir / name).string(),
                         img.string(), size}) != 0)
      throw std::runtime_error("mke2fs failed");
    return img;
  }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

std::string slurp(const ext4::Image& img, const std::string& path) {
  std::string out;
  read_stream(img, path, [&](std::string_view c) {
    out += c;
    return true;
  });
  return out;
}

}  // namespace

TEST_CASE("inspect: streamed contents match, across chunks and holes", "[inspect]") {
  Tree t;
  std::filesystem::create_directories(t.dir / "a");
  const std::string big = random_bytes((9u << 20) + 123, 1);
  std::ofstream(t.dir / "a/big", std::ios::binary) << big;
  std::ofstream(t.dir / "a/small") << "tiny";
  {  // 1 MiB of data, a 6 MiB hole, 1 MiB of data
    const std::string part = random_bytes(1u << 20, 2);
    int fd = ::open((t.dir / "a/sparse").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(::pwrite(fd, part.data(), part.size(), 0) == static_cast<ssize_t>(part.size()));
    REQUIRE(::pwrite(fd, part.data(), part.size(), 7 << 20) == static_cast<ssize_t>(part.size()));
    ::close(fd);
  }
  auto img = open_for_inspection(t.image("a").string());
  CHECK(slurp(img, "/big") == big);
  CHECK(slurp(img, "/small") == "tiny");
  std::ifstream sp(t.dir / "a/sparse", std::ios::binary);
  const std::string sparse((std::istreambuf_iterator<char>(sp)), {});
  CHECK(slurp(img, "/sparse") == sparse);
  // A sink that stops early stops the read.
  std::size_t got = 0;
  read_stream(img, "/big", [&](std::string_view c) {
    got += c.size();
    return false;
  });
  CHECK(got < big.size());
  CHECK(img.read_head(img.stat("/big")->inode, 10) == big.substr(0, 10));
}

TEST_CASE("inspect: ls is bounded", "[inspect]") {
  Tree t;
  std::filesystem::create_directories(t.dir / "a/x/y/z");
  for (int i = 0; i < 10; ++i) std::ofstream(t.dir / "a" / ("f" + std::to_string(i))) << i;
  auto img = open_for_inspection(t.image("a", "16M").string());
  std::vector<std::string> seen;
  list_tree(img, "/", true, {}, [&](const Entry& e) { seen.push_back(e.path); });
  CHECK(std::find(seen.begin(), seen.end(), "/x/y/z") != seen.end());
  Limits few;
  few.max_entries = 5;
  try {
    list_tree(img, "/", true, few, [](const Entry&) {});
    FAIL("no limit");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::exhausted);
    CHECK(e.reason() == "too_many_entries");
  }
  Limits shallow;
  shallow.max_depth = 1;
  CHECK_THROWS_AS(list_tree(img, "/", true, shallow, [](const Entry&) {}), Error);
}

TEST_CASE("inspect: diff compares contents only where sizes are equal", "[inspect]") {
  Tree t;
  for (const char* side : {"a", "b"}) std::filesystem::create_directories(t.dir / side);
  const std::string big = random_bytes(5u << 20, 3);
  std::string big2 = big;
  big2[big2.size() - 1] ^= 1;  // differs in the last byte only
  std::ofstream(t.dir / "a/big", std::ios::binary) << big;
  std::ofstream(t.dir / "b/big", std::ios::binary) << big2;
  std::ofstream(t.dir / "a/same", std::ios::binary) << big;
  std::ofstream(t.dir / "b/same", std::ios::binary) << big;
  std::ofstream(t.dir / "a/size") << "1";
  std::ofstream(t.dir / "b/size") << "12";
  auto a = open_for_inspection(t.image("a").string());
  auto b = open_for_inspection(t.image("b").string());
  std::vector<Difference> diffs;
  auto stats = diff_images(a, b, {}, [&](const Difference& d) { diffs.push_back(d); });
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].path == "/big");
  CHECK(diffs[0].fields == std::vector<std::string>{"content"});
  CHECK(diffs[0].a->sha256 != diffs[0].b->sha256);
  CHECK(diffs[0].a->sha256.size() == 64);
  CHECK(diffs[1].path == "/size");
  CHECK(diffs[1].fields == std::vector<std::string>{"size"});
  CHECK(diffs[1].a->sha256.empty());  // decided by size: not read
  CHECK(stats.files_compared == 2);   // big and same
  CHECK(stats.bytes_compared == 4 * big.size());
  auto j = diffs[0].json();
  CHECK(j["change"] == "changed");
  CHECK(j["a"]["size"] == big.size());
  CHECK(diffs[0].text().rfind("~ /big  content sha256", 0) == 0);
}
