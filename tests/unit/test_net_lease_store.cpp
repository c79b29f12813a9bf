#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>

#include "helpers.hpp"
#include "net/lease_store.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

using namespace vmu;

namespace {

const Cidr kPool = Cidr::parse("10.20.0.0/24");
const Ipv4 kGw = kPool.first_host();

Lease make_lease(const std::string& id, Ipv4 ip) {
  Lease l;
  l.id = id;
  l.ip = ip;
  l.mac = mac_for(ip);
  l.created = now_rfc3339();
  l.boot_id = "b";
  return l;
}

Lease claim(LeaseStore& s, const std::string& id, const Cidr& pool = kPool) {
  return s.claim(pool, std::nullopt, [&](Ipv4 ip) { return make_lease(id, ip); }).lease;
}

// The store's leases, checked for duplicates (ids and addresses).
std::map<std::string, Lease> read_checked(const fs::path& dir) {
  FileLeaseStore s(dir);
  std::map<std::string, Lease> ids;
  std::set<std::uint32_t> ips;
  for (const auto& p : s.snapshot())
    for (const auto& l : p.leases) {
      INFO("lease " << l.id);
      REQUIRE(ids.emplace(l.id, l).second);
      REQUIRE(ips.insert(l.ip.value).second);
    }
  return ids;
}

Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error");
  return Error(Exit::ok, "");
}

const char* kV1 = R"({"v":1,"pool":"10.20.0.0/24","gateway":"10.20.0.1","cursor":"10.20.0.3",
  "site":"rack-7","leases":[
  {"id":"vm-a","ip":"10.20.0.2","mac":"06:00:0a:14:00:02","created":"2020-01-01T00:00:00Z",
   "boot_id":"b","tap":"vmtap2","bridge":"fcbr0","owner":"team-a"},
  {"id":"vm-b","ip":"10.20.0.3","mac":"06:00:0a:14:00:03","created":"2020-01-01T00:00:00Z",
   "boot_id":"b"}]})";

}  // namespace

TEST_CASE("the host store claims one file per address, round-robin") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  auto c = s.claim(kPool, std::nullopt, [](Ipv4 ip) { return make_lease("vm-a", ip); });
  CHECK(c.gateway == kGw);
  CHECK(c.lease.ip.str() == "10.20.0.2");
  CHECK(claim(s, "vm-b").ip.str() == "10.20.0.3");
  CHECK(fs::exists(d.path / "10.20.0.0_24" / "10.20.0.2"));
  CHECK(fs::exists(d.path / "10.20.0.0_24" / "pool.json"));
  auto snap = s.snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].pool == kPool);
  CHECK(snap[0].gateway == kGw);
  REQUIRE(snap[0].leases.size() == 2);
  CHECK(snap[0].find("vm-b")->ip.str() == "10.20.0.3");
  CHECK(s.find(kPool, *Ipv4::parse("10.20.0.2"))->id == "vm-a");
  CHECK_FALSE(s.find(kPool, *Ipv4::parse("10.20.0.9")));
  // Freed: not handed out again at once, but after the others.
  CHECK(s.free(kPool, *snap[0].find("vm-a")));
  CHECK(claim(s, "vm-c").ip.str() == "10.20.0.4");
}

TEST_CASE("a small pool wraps around, skips the gateway and runs out") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  const Cidr pool = Cidr::parse("10.21.0.0/29");
  const Ipv4 gw = *Ipv4::parse("10.21.0.4");
  std::set<std::string> got;
  for (int i = 0; i < 5; ++i)
    got.insert(s.claim(pool, gw, [&](Ipv4 ip) {
                  return make_lease("vm-" + std::to_string(i), ip);
                }).lease.ip.str());
  CHECK(got ==
        std::set<std::string>{"10.21.0.1", "10.21.0.2", "10.21.0.3", "10.21.0.5", "10.21.0.6"});
  auto e = expect_error([&] { claim(s, "vm-x", pool); });
  CHECK(e.code() == Exit::exhausted);
  CHECK(std::string(e.what()).find("all 5 leasable") != std::string::npos);
  // The gateway is the pool's: another one is refused.
  e = expect_error([&] {
    s.claim(pool, *Ipv4::parse("10.21.0.1"), [](Ipv4 ip) { return make_lease("vm-y", ip); });
  });
  CHECK(e.code() == Exit::usage);
  CHECK(std::string(e.what()).find("gateway 10.21.0.4") != std::string::npos);
}

TEST_CASE("free only frees the lease it was given, after `before`") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  Lease a = claim(s, "vm-a");
  Lease other = a;
  other.id = "vm-other";
  CHECK_FALSE(s.free(kPool, other));
  other = a;
  other.created = "1999-01-01T00:00:00Z";
  CHECK_FALSE(s.free(kPool, other));
  CHECK_THROWS(s.free(kPool, a, [] { throw Error(Exit::failed, "devices stay"); }));
  CHECK(read_checked(d.path).contains("vm-a"));
  bool ran = false;
  CHECK(s.free(kPool, a, [&] { ran = true; }));
  CHECK(ran);
  CHECK(read_checked(d.path).empty());
  CHECK_FALSE(s.free(kPool, a));
}

TEST_CASE("a corrupt store is reported, not silently reset") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  claim(s, "vm-a");
  write_file_atomic(d.path / "10.20.0.0_24" / "10.20.0.9", "{ not json");
  auto e = expect_error([&] { s.snapshot(); });
  CHECK(e.reason() == "bad_lease_store");
  CHECK(std::string(e.what()).find("10.20.0.9") != std::string::npos);
  // A file under one address holding another.
  write_file_atomic(d.path / "10.20.0.0_24" / "10.20.0.9", lease_to_json(make_lease("vm-z", kGw)));
  e = expect_error([&] { s.snapshot(); });
  CHECK(std::string(e.what()).find("holds 10.20.0.1") != std::string::npos);
  fs::remove(d.path / "10.20.0.0_24" / "10.20.0.9");
  write_file_atomic(d.path / "10.20.0.0_24" / "pool.json", "{ not json");
  e = expect_error([&] { claim(s, "vm-b"); });
  CHECK(e.reason() == "bad_lease_store");
}

TEST_CASE("a version 1 store is read as it is and migrated in place on first change") {
  test::TempDir d;
  write_file_atomic(d.path / "10.20.0.0_24.json", kV1);
  FileLeaseStore s(d.path);
  // Reading changes nothing.
  auto snap = s.snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].leases.size() == 2);
  CHECK(s.find(kPool, *Ipv4::parse("10.20.0.3"))->id == "vm-b");
  CHECK(fs::exists(d.path / "10.20.0.0_24.json"));
  CHECK_FALSE(fs::exists(d.path / "10.20.0.0_24"));
  // The first claim migrates, keeps every lease, the cursor and unknown fields.
  CHECK(claim(s, "vm-c").ip.str() == "10.20.0.4");
  CHECK_FALSE(fs::exists(d.path / "10.20.0.0_24.json"));
  auto leases = read_checked(d.path);
  CHECK(leases.size() == 3);
  CHECK(leases["vm-a"].tap == "vmtap2");
  CHECK(read_file(d.path / "10.20.0.0_24" / "10.20.0.2").find("\"owner\":\"team-a\"") !=
        std::string::npos);
  const std::string cfg = read_file(d.path / "10.20.0.0_24" / "pool.json");
  CHECK(cfg.find("\"site\":\"rack-7\"") != std::string::npos);
  CHECK(cfg.find("\"v\":2") != std::string::npos);
}

TEST_CASE("a store of a newer version is refused and left untouched") {
  test::TempDir d;
  const std::string v99 =
      R"({"v":99,"pool":"10.20.0.0/24","gateway":"10.20.0.1","leases":[],"shards":4})";
  write_file_atomic(d.path / "10.20.0.0_24.json", v99);
  FileLeaseStore s(d.path);
  for (auto f : {std::function<void()>([&] { claim(s, "vm-a"); }),
                 std::function<void()>([&] { s.snapshot(); })}) {
    auto e = expect_error(f);
    CHECK(e.reason() == "newer_lease_store");
    CHECK(std::string(e.what()).find("v99") != std::string::npos);
  }
  CHECK(read_file(d.path / "10.20.0.0_24.json") == v99);
  // The same in a version 2 folder.
  test::TempDir d2;
  fs::create_directories(d2.path / "10.20.0.0_24");
  write_file_atomic(d2.path / "10.20.0.0_24" / "pool.json",
                    R"({"v":3,"pool":"10.20.0.0/24","gateway":"10.20.0.1"})");
  FileLeaseStore s2(d2.path);
  CHECK(expect_error([&] { claim(s2, "vm-a"); }).reason() == "newer_lease_store");
  for (const char* v : {"0", "-7", "\"2\"", "1.5"}) {
    write_file_atomic(d2.path / "10.20.0.0_24" / "pool.json",
                      fmt::format(R"({{"v":{},"pool":"10.20.0.0/24","gateway":"10.20.0.1"}})", v));
    CHECK(expect_error([&] { claim(s2, "vm-a"); }).reason() == "bad_lease_store");
  }
}

TEST_CASE("a store for another pool, or with an address twice, is refused") {
  test::TempDir d;
  const std::string other =
      R"({"v":1,"pool":"192.168.0.0/24","gateway":"192.168.0.1","leases":[]})";
  write_file_atomic(d.path / "10.20.0.0_24.json", other);
  FileLeaseStore s(d.path);
  auto e = expect_error([&] { claim(s, "vm-a"); });
  CHECK(e.reason() == "bad_lease_store");
  CHECK(std::string(e.what()).find("holds pool 192.168.0.0/24, not 10.20.0.0/24") !=
        std::string::npos);
  CHECK(read_file(d.path / "10.20.0.0_24.json") == other);

  test::TempDir d2;
  const std::string dup = R"({"v":1,"pool":"10.20.0.0/24","gateway":"10.20.0.1","leases":[
    {"id":"vm-a","ip":"10.20.0.5","mac":"m","created":"","boot_id":""},
    {"id":"vm-b","ip":"10.20.0.5","mac":"m","created":"","boot_id":""}]})";
  write_file_atomic(d2.path / "10.20.0.0_24.json", dup);
  FileLeaseStore s2(d2.path);
  for (auto f : {std::function<void()>([&] { claim(s2, "vm-c"); }),
                 std::function<void()>([&] { s2.snapshot(); })}) {
    e = expect_error(f);
    CHECK(std::string(e.what()).find("address 10.20.0.5 is leased twice") != std::string::npos);
  }
  CHECK(read_file(d2.path / "10.20.0.0_24.json") == dup);

  // A version 2 folder whose pool.json names another pool.
  test::TempDir d3;
  fs::create_directories(d3.path / "10.20.0.0_24");
  write_file_atomic(d3.path / "10.20.0.0_24" / "pool.json",
                    R"({"v":2,"pool":"192.168.0.0/24","gateway":"192.168.0.1"})");
  FileLeaseStore s3(d3.path);
  CHECK(expect_error([&] { claim(s3, "vm-a"); }).reason() == "bad_lease_store");
}

// kill -9 of writers at every phase of a change: a hook stops the child at a
// chosen phase (lease written but not linked, linked but cursor not moved,
// free locked, migration half done), the parent kills it there. Then the
// store must read, hold no duplicates, keep every lease committed before,
// and hold the new one exactly when the kill came after its link.
TEST_CASE("kill -9 mid-change never corrupts, loses or duplicates a lease") {
  test::TempDir d;
  const char* phases[] = {"claim-written", "claim-linked", "free-locked", "none"};
  std::map<std::string, Lease> committed;
  std::mt19937 rng(42);
  int kills_in_section = 0;
  for (int i = 0; i < 250; ++i) {
    const std::string phase = phases[rng() % 4];
    // Free a lease when the phase is about freeing and there is one.
    const bool freeing = (phase == "free-locked" || rng() % 3 == 0) && !committed.empty();
    std::optional<Lease> victim;
    if (freeing) {
      auto it = committed.begin();
      std::advance(it, static_cast<long>(rng() % committed.size()));
      victim = it->second;
    }
    const std::string id = "vm-k" + std::to_string(i);
    int sync[2];
    REQUIRE(::pipe(sync) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(sync[0]);
      try {
        FileLeaseStore s(d.path, [&](std::string_view ph) {
          if (ph == phase) {
            char c = 'p';
            (void)::write(sync[1], &c, 1);
            for (;;) ::pause();
          }
        });
        if (victim)
          s.free(kPool, *victim);
        else
          claim(s, id);
        char c = 'd';
        (void)::write(sync[1], &c, 1);
        for (;;) ::pause();
      } catch (...) {
        ::_exit(3);
      }
    }
    ::close(sync[1]);
    char c = 0;
    REQUIRE(::read(sync[0], &c, 1) == 1);
    ::close(sync[0]);
    if (c == 'p') ++kills_in_section;
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));

    auto now = read_checked(d.path);
    if (victim) {
      // Killed holding the lock before unlinking: the lease stays.
      CHECK(now.contains(victim->id) == (c == 'p'));
      for (const auto& [old, l] : committed)
        if (old != victim->id) REQUIRE(now.contains(old));
    } else {
      const bool landed = (phase == "claim-linked" || phase == "none" || c == 'd');
      CHECK(now.contains(id) == landed);
      for (const auto& [old, l] : committed) REQUIRE(now.contains(old));
    }
    committed = now;
  }
  CHECK(kills_in_section >= 100);
  // The lock of a killed writer went with it: the store is still usable.
  FileLeaseStore s(d.path);
  claim(s, "vm-after");
  CHECK(read_checked(d.path).contains("vm-after"));
}

TEST_CASE("kill -9 during a migration loses no lease") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    test::TempDir d;
    std::string v1 = R"({"v":1,"pool":"10.20.0.0/24","gateway":"10.20.0.1","leases":[)";
    for (int i = 2; i < 42; ++i)
      v1 +=
          fmt::format(R"({}{{"id":"vm-{}","ip":"10.20.0.{}","mac":"m","created":"","boot_id":""}})",
                      i == 2 ? "" : ",", i, i);
    v1 += "]}";
    write_file_atomic(d.path / "10.20.0.0_24.json", v1);
    const int stop_at = static_cast<int>(rng() % 41);  // 40: at "migrate-done"
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int seen = 0;
      try {
        FileLeaseStore s(d.path, [&](std::string_view ph) {
          if ((ph == "migrate-lease" || ph == "migrate-done") && seen++ == stop_at)
            ::raise(SIGKILL);
        });
        claim(s, "vm-new");
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    auto now = read_checked(d.path);
    CHECK(now.size() == 40);
    FileLeaseStore s(d.path);
    claim(s, "vm-new");
    now = read_checked(d.path);
    CHECK(now.size() == 41);
    CHECK_FALSE(fs::exists(d.path / "10.20.0.0_24.json"));
  }
}

TEST_CASE("concurrent writers never share an address") {
  test::TempDir d;
  std::vector<pid_t> kids;
  for (int w = 0; w < 8; ++w) {
    pid_t p = ::fork();
    REQUIRE(p >= 0);
    if (p == 0) {
      try {
        FileLeaseStore s(d.path);
        for (int i = 0; i < 25; ++i) claim(s, fmt::format("vm-w{}-{}", w, i));
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    kids.push_back(p);
  }
  for (pid_t p : kids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  CHECK(read_checked(d.path).size() == 200);
}

TEST_CASE("an empty lease older than this boot (a power cut) is removed, not fatal") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  claim(s, "vm-a");  // 10.20.0.2
  const fs::path lost = d.path / "10.20.0.0_24" / "10.20.0.3";
  write_file_atomic(lost, "");
  // Written in this boot, an empty lease is not explained by a power cut.
  CHECK(expect_error([&] { s.snapshot(); }).reason() == "bad_lease_store");
  fs::last_write_time(lost, fs::file_time_type::clock::now() - std::chrono::hours(24 * 365 * 30));
  auto snap = s.snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].leases.size() == 1);
  CHECK_FALSE(fs::exists(lost));
}
