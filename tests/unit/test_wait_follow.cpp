#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"
#include "wait/follow.hpp"

using namespace vmu::wait;
namespace fs = std::filesystem;

namespace {
bool readable(int fd, int ms = 2000) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}
void append(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::app) << s;
}
std::string read_all(FileFollower& f, FileFollower::Id id, bool* truncated = nullptr) {
  std::string out;
  auto c = f.read(id, out, 1 << 20);
  if (truncated) *truncated = c.truncated;
  return out;
}
}  // namespace

TEST_CASE("follower: existing bytes first, then growth announced by inotify") {
  vmu::test::TempDir t;
  const auto log = t.path / "console.log";
  append(log, "early\n");
  FileFollower f;
  f.add(1, log);
  CHECK(f.dirty().count(1));
  CHECK(read_all(f, 1) == "early\n");
  CHECK_FALSE(f.any_dirty());
  append(log, "more\n");
  REQUIRE(readable(f.fd()));
  f.on_readable();
  CHECK(f.dirty().count(1));
  CHECK(read_all(f, 1) == "more\n");
}

TEST_CASE("follower: a log that appears late is picked up") {
  vmu::test::TempDir t;
  const auto log = t.path / "console.log";
  FileFollower f;
  f.add(7, log);
  std::string out;
  CHECK(f.read(7, out, 100).missing);
  append(log, "hello\n");
  REQUIRE(readable(f.fd()));
  f.on_readable();
  CHECK(read_all(f, 7) == "hello\n");
}

TEST_CASE("follower: a truncated log is read again from its start") {
  vmu::test::TempDir t;
  const auto log = t.path / "console.log";
  append(log, "first boot, a long line\n");
  FileFollower f;
  f.add(1, log);
  read_all(f, 1);
  std::ofstream(log, std::ios::trunc) << "new\n";
  REQUIRE(readable(f.fd()));
  f.on_readable();
  bool truncated = false;
  CHECK(read_all(f, 1, &truncated) == "new\n");
  CHECK(truncated);
}

TEST_CASE("follower: a log renamed away is read to its end, then the new one followed") {
  vmu::test::TempDir t;
  const auto log = t.path / "console.log";
  append(log, "old\n");
  FileFollower f;
  f.add(1, log);
  read_all(f, 1);
  append(log, "old tail\n");
  fs::rename(log, t.path / "console.log.1");
  append(log, "new file\n");
  REQUIRE(readable(f.fd()));
  f.on_readable();
  std::string out = read_all(f, 1);
  // The old file's tail, then (once that is read) the new file.
  while (f.any_dirty()) out += read_all(f, 1);
  CHECK(out == "old tail\nnew file\n");
}

TEST_CASE("follower: bounded reads leave the file dirty until drained") {
  vmu::test::TempDir t;
  const auto log = t.path / "console.log";
  append(log, std::string(1000, 'x'));
  FileFollower f;
  f.add(1, log);
  std::string out;
  f.read(1, out, 300);
  CHECK(out.size() == 300);
  CHECK(f.dirty().count(1));
  f.drain(1, out, 1 << 20);
  CHECK(out.size() == 1000);
  CHECK_FALSE(f.any_dirty());
}
