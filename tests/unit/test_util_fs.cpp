#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "helpers.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"
#include "util/proc.hpp"
#include "util/time.hpp"

using namespace vmu;

TEST_CASE("atomic write replaces contents and sets the mode") {
  test::TempDir d;
  auto p = d.path / "f.json";
  write_file_atomic(p, "one", 0600);
  CHECK(read_file(p) == "one");
  write_file_atomic(p, "two", 0640);
  CHECK(read_file(p) == "two");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  // No temporary file is left behind.
  int n = 0;
  for (auto& e : fs::directory_iterator(d.path)) (void)e, ++n;
  CHECK(n == 1);
}

TEST_CASE("a failing writer leaves the old contents and no temp file") {
  test::TempDir d;
  auto p = d.path / "f";
  write_file_atomic(p, "old");
  CHECK_THROWS(write_file_atomic(p, "new-contents", 0644, [](std::string_view phase) {
    if (phase == "temp-partial") throw std::runtime_error("boom");
  }));
  CHECK(read_file(p) == "old");
  int n = 0;
  for (auto& e : fs::directory_iterator(d.path)) (void)e, ++n;
  CHECK(n == 1);
}

TEST_CASE("reads are bounded") {
  test::TempDir d;
  write_file_atomic(d.path / "big", std::string(100, 'x'));
  CHECK_THROWS_AS(read_file(d.path / "big", 10), Error);
  CHECK_FALSE(read_file_if_exists(d.path / "missing").has_value());
  try {
    read_file(d.path / "missing");
    FAIL("a missing file was read");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}

TEST_CASE("a lock held elsewhere times out with a message naming the file") {
  test::TempDir d;
  auto lk = d.path / "x.lock";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto l = FileLock::acquire(lk, LockMode::exclusive, std::chrono::milliseconds(1000));
    char c = 1;
    (void)::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  auto t0 = std::chrono::steady_clock::now();
  try {
    FileLock::acquire(lk, LockMode::exclusive, std::chrono::milliseconds(200));
    FAIL("lock taken twice");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::failed);
    CHECK(e.reason() == "lock_timeout");
    CHECK(std::string(e.what()).find(lk.string()) != std::string::npos);
  }
  CHECK(ms_since(t0) >= 190);
  CHECK(ms_since(t0) < 2000);
  CHECK_FALSE(FileLock::try_acquire(lk, LockMode::exclusive));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  // The holder died: the lock is free at once.
  CHECK(FileLock::try_acquire(lk, LockMode::exclusive));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("a process is named by pid and start time") {
  auto me = process_start_time(::getpid());
  REQUIRE(me.has_value());
  CHECK(process_alive(::getpid(), me));
  CHECK_FALSE(process_alive(::getpid(), *me + 1));  // a reused pid is another process
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  CHECK_FALSE(process_alive(child, std::nullopt));
  CHECK(boot_id().size() == 36);
  // A zombie (ended, not reaped yet) does not run.
  pid_t z = ::fork();
  if (z == 0) ::_exit(0);
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(z), &info, WEXITED | WNOWAIT) == 0);
  CHECK(process_start_time(z).has_value());
  CHECK_FALSE(process_alive(z, std::nullopt));
  ::waitpid(z, nullptr, 0);
}

TEST_CASE("RFC 3339 times") {
  auto t = parse_rfc3339("2026-11-26T01:26:57Z");
  REQUIRE(t.has_value());
  CHECK(to_rfc3339(*t) == "2026-11-26T01:26:57Z");
  CHECK(parse_rfc3339("2026-11-26T01:26:57.123Z").has_value());
  CHECK_FALSE(parse_rfc3339("2026-11-26T01:26:57+01:00").has_value());
  CHECK_FALSE(parse_rfc3339("yesterday").has_value());
}
