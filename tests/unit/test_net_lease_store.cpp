#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <random>
#include <set>

#include "helpers.hpp"
#include "net/lease_store.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

using namespace vmu;

namespace {

const Cidr kPool = Cidr::parse("10.20.0.0/24");
const Ipv4 kGw = kPool.first_host();

void add_lease(LeaseStore& s, const std::string& id, Ipv4 ip) {
  s.update(kPool, kGw, [&](PoolState& p) {
    p.leases.push_back({id, ip, mac_for(ip), "", "", now_rfc3339(), "b", ""});
  });
}

// The store's leases, checked for duplicates (ids and addresses).
std::set<std::string> read_checked(const fs::path& dir) {
  FileLeaseStore s(dir);
  auto pools = s.snapshot();
  std::set<std::string> ids;
  std::set<std::uint32_t> ips;
  for (const auto& p : pools)
    for (const auto& l : p.leases) {
      INFO("lease " << l.id);
      REQUIRE(ids.insert(l.id).second);
      REQUIRE(ips.insert(l.ip.value).second);
    }
  return ids;
}

}  // namespace

TEST_CASE("the file store commits changes and serialises round trips") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  add_lease(s, "vm-a", *Ipv4::parse("10.20.0.2"));
  add_lease(s, "vm-b", *Ipv4::parse("10.20.0.3"));
  auto snap = s.snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].pool == kPool);
  CHECK(snap[0].gateway == kGw);
  REQUIRE(snap[0].leases.size() == 2);
  CHECK(snap[0].find("vm-b")->ip.str() == "10.20.0.3");
  CHECK(fs::exists(d.path / "10.20.0.0_24.json"));
}

TEST_CASE("a change that throws commits nothing") {
  test::TempDir d;
  FileLeaseStore s(d.path);
  add_lease(s, "vm-a", *Ipv4::parse("10.20.0.2"));
  CHECK_THROWS(s.update(kPool, kGw, [&](PoolState& p) {
    p.leases.clear();
    throw std::runtime_error("no");
  }));
  CHECK(read_checked(d.path) == std::set<std::string>{"vm-a"});
}

TEST_CASE("a corrupt store is reported, not silently reset") {
  test::TempDir d;
  write_file_atomic(d.path / "10.20.0.0_24.json", "{ not json");
  FileLeaseStore s(d.path);
  try {
    add_lease(s, "vm-a", *Ipv4::parse("10.20.0.2"));
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.reason() == "bad_lease_store");
  }
  CHECK(read_file(d.path / "10.20.0.0_24.json") == "{ not json");
}

// kill -9 of writers inside the critical section: a hook stops the child at
// a chosen phase of the commit ("locked", half the temp file written, temp
// synced, renamed), the parent kills it there. Then the store must parse,
// hold no duplicates, keep every lease committed before, and hold the new
// one exactly when the kill came after the rename.
TEST_CASE("kill -9 mid-commit never corrupts, loses or duplicates a lease") {
  test::TempDir d;
  const char* phases[] = {"locked", "temp-partial", "temp-synced", "renamed", "none"};
  std::set<std::string> committed;
  std::mt19937 rng(42);
  int kills_in_section = 0;
  for (int i = 0; i < 250; ++i) {
    const std::string phase = phases[rng() % 5];
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
        s.update(kPool, kGw, [&](PoolState& p) {
          // Spread addresses so the pool never fills.
          Ipv4 ip{kPool.first_host().value + 1 + static_cast<std::uint32_t>(i % 250)};
          std::erase_if(p.leases, [&](const Lease& l) { return l.ip == ip; });
          p.leases.push_back({id, ip, mac_for(ip), "", "", now_rfc3339(), "b", ""});
        });
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
    // Only the address that this writer replaced may have gone.
    const bool landed = (phase == "renamed" || phase == "none");
    CHECK(now.contains(id) == landed);
    for (const auto& old : committed) {
      if (!now.contains(old)) {
        // Allowed only if this writer's new lease replaced its address.
        REQUIRE(landed);
      }
    }
    committed = now;
  }
  CHECK(kills_in_section >= 150);
}
