#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "helpers.hpp"
#include "util/error.hpp"
#include "util/proc.hpp"
#include "wait/waiter.hpp"

using namespace vmu;
using namespace std::chrono_literals;

namespace {

// The host side, without root: fixed answers.
struct FakeNet : wait::HostNet {
  std::string neighbour_state(const std::string&, const std::string&) override {
    return "REACHABLE";
  }
  std::optional<wait::TapCounters> counters(const std::string& dev) override {
    if (dev == "tap-x" || dev == "br-x") return wait::TapCounters{5, 7};
    return std::nullopt;
  }
};

// A stand-in VMM: a child that sleeps until killed.
struct Child {
  pid_t pid = -1;
  Child() {
    pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sleep", "sleep", "100", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~Child() { kill(); }
};

// A loopback port nobody listens on (connection refused).
int closed_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

Record make_record(const std::filesystem::path& dir, pid_t pid) {
  Json j = {
      {"v", 1},
      {"id", "vm-unit"},
      {"net", {{"ip", "127.0.0.1"}, {"tap", "tap-x"}, {"bridge", "br-x"}}},
      {"agent",
       {{"units", Json::array({{{"name", "vm-agent.service"},
                                {"enabled_in", Json::array({"multi-user.target.wants"})}}})}}},
      {"vmm",
       {{"pid", pid},
        {"start_time", process_start_time(pid).value_or(0)},
        {"console_log", (dir / "console.log").string()},
        {"log", (dir / "vmm.log").string()}}}};
  return Record::from_json(j);
}

wait::Finished run(wait::Waiter& w, std::chrono::milliseconds limit,
                   const std::function<void(int)>& each_turn = {}) {
  const auto end = std::chrono::steady_clock::now() + limit;
  int turn = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (each_turn) each_turn(turn++);
    auto st = w.step(-1, 50ms);
    if (!st.finished.empty()) return std::move(st.finished.front());
  }
  FAIL("no verdict within the limit");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("waiter: a panic on the console ends the wait at once") {
  test::TempDir t;
  Child vmm;
  std::ofstream(t.path / "console.log") << "[ 0.0] Linux version 6.1\n";
  wait::Options o;
  o.port = closed_port();
  wait::Waiter w(o, std::make_unique<FakeNet>());
  w.add(make_record(t.path, vmm.pid));
  CHECK(w.active() == 1);
  auto f = run(w, 5s, [&](int turn) {
    if (turn == 3)
      std::ofstream(t.path / "console.log", std::ios::app) << "Kernel panic - not syncing: boom\n";
  });
  CHECK(f.verdict.reason == "kernel_panic");
  CHECK(f.rec.get("ready")["reason"] == "kernel_panic");
  CHECK(f.rec.get("ready")["milestones"].contains("kernel_up"));
  CHECK(w.active() == 0);
}

TEST_CASE("waiter: the VMM's exit ends the wait, with its log's tail") {
  test::TempDir t;
  Child vmm;
  std::ofstream(t.path / "console.log") << "";
  std::ofstream(t.path / "vmm.log") << "qemu: KVM internal error. Suberror: 1\n";
  wait::Options o;
  o.port = closed_port();
  wait::Waiter w(o, std::make_unique<FakeNet>());
  w.add(make_record(t.path, vmm.pid));
  auto f = run(w, 5s, [&](int turn) {
    if (turn == 2) vmm.kill();
  });
  CHECK(f.verdict.reason == "vmm_exited");
  CHECK(f.verdict.message.find("KVM internal error") != std::string::npos);
}

TEST_CASE("waiter: refused while the unit runs is port_closed, with the host's evidence") {
  test::TempDir t;
  Child vmm;
  std::ofstream(t.path / "console.log")
      << "[  OK  ] Started vm-agent.service - x.\n[  OK  ] Reached target multi-user.target - "
         "Multi-User System.\n";
  wait::Options o;
  o.port = closed_port();
  o.graces.port = 300;
  wait::Waiter w(o, std::make_unique<FakeNet>());
  w.add(make_record(t.path, vmm.pid));
  auto f = run(w, 5s);
  CHECK(f.verdict.reason == "port_closed");
  CHECK(f.rec.get("ready")["probe"]["refused"].get<int>() > 1);
}

TEST_CASE("waiter: an answer with the expected status is ready") {
  test::TempDir t;
  Child vmm;
  std::ofstream(t.path / "console.log") << "";
  // A one-shot HTTP server on loopback.
  int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(ls, 8) == 0);
  socklen_t len = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread server([ls] {
    int c = ::accept(ls, nullptr, nullptr);
    char buf[1024];
    (void)::read(c, buf, sizeof buf);
    const char reply[] =
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::write(c, reply, sizeof reply - 1);
    ::close(c);
  });
  wait::Options o;
  o.port = ntohs(a.sin_port);
  o.expect = wait::parse_status_range("200-299");
  wait::Waiter w(o, std::make_unique<FakeNet>());
  w.add(make_record(t.path, vmm.pid));
  auto f = run(w, 5s);
  server.join();
  ::close(ls);
  CHECK(f.verdict.ok);
  CHECK(f.rec.get("ready")["probe"]["status"] == 204);
}

TEST_CASE("waiter: records it cannot wait on are refused in words") {
  wait::Options o;
  wait::Waiter w(o, std::make_unique<FakeNet>());
  CHECK_THROWS_WITH(w.add(Record::from_json({{"v", 1}, {"id", "vm-a"}})),
                    Catch::Contains("has no net.ip"));
  CHECK_THROWS_WITH(
      w.add(Record::from_json({{"v", 1}, {"id", "vm-a"}, {"net", {{"ip", "10.0.0.2"}}}})),
      Catch::Contains("has no vmm.pid"));
  CHECK(w.active() == 0);
}
