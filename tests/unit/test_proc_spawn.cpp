#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "helpers.hpp"
#include "proc/spawn.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"

using namespace std::chrono_literals;
using vmu::test::TempDir;

namespace {

// Waits (bounded) for a child to end and returns its status.
vmu::ExitStatus reap(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    if (auto s = vmu::try_reap(pid)) return *s;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("child did not end");
  return {};
}

vmu::Fd open_out(const std::filesystem::path& p) {
  return vmu::Fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
}

}  // namespace

TEST_CASE("spawn_detached runs an argv without a shell, output to the given fds") {
  TempDir t;
  auto out = t.path / "out";
  auto fd = open_out(out);
  vmu::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo \"$0\" one; echo two >&2", "a b;c"};
  o.stdout_fd = fd.get();
  o.stderr_fd = fd.get();
  auto c = vmu::spawn_detached(o);
  REQUIRE(c.pid > 0);
  CHECK(reap(c.pid).exited);
  auto text = vmu::read_file(out);
  CHECK(text.find("a b;c one\n") != std::string::npos);  // the argument arrived as one
  CHECK(text.find("two\n") != std::string::npos);
}

TEST_CASE("spawn_detached: own session, stdin /dev/null, only handed fds") {
  TempDir t;
  auto out = t.path / "out";
  auto fd = open_out(out);
  // A descriptor without CLOEXEC that is NOT handed over must not leak.
  vmu::Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  vmu::Fd leaky(::fcntl(devnull.get(), F_DUPFD, 40));
  REQUIRE(leaky.get() >= 40);
  vmu::Fd handed(::open(t.path.c_str(), O_RDONLY | O_CLOEXEC));
  vmu::SpawnOptions o;
  // The shell's fds are listed first, by a plain command: while a pipeline
  // is being set up the shell itself holds its pipe ends for a moment, and a
  // listing taken then (under load) would show them.
  o.argv = {"/bin/sh", "-c",
            "ls /proc/$$/fd; echo --; ps -o sid= -p $$ | tr -d ' '; echo pid=$$; "
            "readlink /proc/self/fd/0"};
  o.stdout_fd = fd.get();
  o.pass_fds = {{handed.get(), 5}};
  auto c = vmu::spawn_detached(o);
  CHECK(c.start_time == vmu::process_start_time(c.pid).value_or(0));
  CHECK(reap(c.pid).exited);
  auto text = vmu::read_file(out);
  INFO(text);
  // setsid: the session id is the child's own pid
  auto pid_line = fmt::format("pid={}", c.pid);
  CHECK(text.find(fmt::format("{}\n{}", c.pid, pid_line)) != std::string::npos);
  CHECK(text.find("/dev/null") != std::string::npos);
  // the shell's fds: 0 1 2 and the handed 5 — never the leaky one
  const auto fds = text.substr(0, text.find("--\n"));
  CHECK(fds == "0\n1\n2\n5\n");
  CHECK(fds.find(fmt::format("{}\n", leaky.get())) == std::string::npos);
}

TEST_CASE("spawn_detached: a handed flock stays held by the child") {
  TempDir t;
  auto f = t.path / "img";
  vmu::write_file_atomic(f, "x");
  vmu::Fd lock(::open(f.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(::flock(lock.get(), LOCK_EX | LOCK_NB) == 0);
  vmu::SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  o.pass_fds = {{lock.get(), 3}};
  auto c = vmu::spawn_detached(o);
  lock.reset();  // our copy is gone; the child's keeps the lock
  vmu::Fd other(::open(f.c_str(), O_RDWR | O_CLOEXEC));
  CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) != 0);
  auto st = vmu::stop_process(c.pid, c.start_time, 2000ms);
  REQUIRE(st);
  CHECK(st->signal == SIGTERM);
  CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) == 0);  // released with the process
}

TEST_CASE("spawn_detached: a missing program is Exit::failed naming it") {
  vmu::SpawnOptions o;
  o.argv = {"/nonexistent/vmm"};
  try {
    vmu::spawn_detached(o);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::failed);
    CHECK(std::string(e.what()).find("/nonexistent/vmm") != std::string::npos);
  }
}

TEST_CASE("spawn_detached: ignored signals are reset for the child") {
  TempDir t;
  auto out = t.path / "out";
  auto fd = open_out(out);
  auto old = ::signal(SIGPIPE, SIG_IGN);
  vmu::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "grep SigIgn /proc/self/status"};
  o.stdout_fd = fd.get();
  auto c = vmu::spawn_detached(o);
  ::signal(SIGPIPE, old);
  reap(c.pid);
  auto text = vmu::read_file(out);
  // SIGPIPE is signal 13: bit 0x1000 must be clear.
  auto hex = text.substr(text.find(':') + 1);
  auto mask = std::stoull(hex, nullptr, 16);
  CHECK((mask & (1ull << 12)) == 0);
}

TEST_CASE("find_program looks names up in PATH and takes paths as they are") {
  CHECK(vmu::find_program("sh").has_value());
  CHECK(vmu::find_program("/bin/sh").has_value());
  CHECK_FALSE(vmu::find_program("no-such-program-vmu").has_value());
  CHECK_FALSE(vmu::find_program("/etc/passwd").has_value());  // not executable
}

TEST_CASE("wait_for_path sees a file appear, without waiting for the deadline") {
  TempDir t;
  auto p = t.path / "api.sock";
  std::thread maker([&] {
    std::this_thread::sleep_for(50ms);
    std::ofstream(p) << "x";
  });
  auto w = vmu::wait_for_path(p, 5000ms);
  maker.join();
  CHECK(w.result == vmu::PathWait::appeared);
  CHECK(w.waited < 2000ms);
  // Already there: at once.
  CHECK(vmu::wait_for_path(p, 0ms).result == vmu::PathWait::appeared);
}

TEST_CASE("wait_for_path: deadline, and a child that exits first") {
  TempDir t;
  auto p = t.path / "never";
  auto w = vmu::wait_for_path(p, 100ms);
  CHECK(w.result == vmu::PathWait::timed_out);
  CHECK(w.waited >= 90ms);

  vmu::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "exit 7"};
  auto c = vmu::spawn_detached(o);
  const auto t0 = std::chrono::steady_clock::now();
  w = vmu::wait_for_path(p, 10000ms, c.pid);
  CHECK(w.result == vmu::PathWait::process_exited);
  REQUIRE(w.status);
  CHECK(w.status->exited);
  CHECK(w.status->code == 7);
  CHECK(std::chrono::steady_clock::now() - t0 < 2000ms);
  CHECK(w.status->describe() == "exited with code 7");
}

TEST_CASE("stop_process: SIGKILL after the grace period, and never a reused pid") {
  vmu::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"};
  auto c = vmu::spawn_detached(o);
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  auto st = vmu::stop_process(c.pid, c.start_time, 200ms);
  REQUIRE(st);
  CHECK(st->signal == SIGKILL);
  CHECK(st->describe() == "killed by signal 9 (SIGKILL)");

  vmu::SpawnOptions o2;
  o2.argv = {"/bin/sleep", "30"};
  auto c2 = vmu::spawn_detached(o2);
  // A wrong start time: a different process, left alone.
  CHECK_FALSE(vmu::stop_process(c2.pid, c2.start_time + 1, 100ms));
  CHECK(vmu::process_alive(c2.pid, c2.start_time));
  CHECK(vmu::stop_process(c2.pid, c2.start_time, 1000ms));
}
