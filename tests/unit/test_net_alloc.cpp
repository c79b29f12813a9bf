#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "helpers.hpp"
#include "net/alloc.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"

using namespace vmu;

namespace {

// Devices in memory, with a switch to fail one step.
class FakeNet : public NetDevices {
 public:
  std::set<std::string> devices{"fcbr0"};
  std::map<std::string, std::string> master;
  std::string fail_on;  // "create_tap", "attach", "set_up"

  bool exists(const std::string& n) override { return devices.contains(n); }
  void create_tap(const std::string& n, std::optional<uid_t>) override {
    maybe_fail("create_tap");
    devices.insert(n);
  }
  void delete_tap(const std::string& n) override {
    devices.erase(n);
    master.erase(n);
  }
  void create_bridge(const std::string& n) override { devices.insert(n); }
  void delete_bridge(const std::string& n) override { devices.erase(n); }
  void set_address(const std::string&, Ipv4, int) override {}
  void set_up(const std::string&) override { maybe_fail("set_up"); }
  void attach(const std::string& p, const std::string& b) override {
    maybe_fail("attach");
    master[p] = b;
  }

 private:
  void maybe_fail(const std::string& step) {
    if (fail_on == step) throw Error(Exit::failed, "injected failure at " + step);
  }
};

struct Fixture {
  test::TempDir dir;
  State state{dir.path / "state", dir.path / "run"};
  FileLeaseStore store{dir.path / "state" / "leases"};
  FakeNet net;
  Allocator alloc{store, net, state};

  AllocRequest req(const std::string& id, const char* pool = "192.168.100.0/29") {
    AllocRequest r;
    r.pool = Cidr::parse(pool);
    r.id = id;
    return r;
  }
  std::size_t leases() {
    std::size_t n = 0;
    for (auto& p : store.snapshot()) n += p.leases.size();
    return n;
  }
};

}  // namespace

TEST_CASE("allocation: address, MAC, TAP on the bridge, saved record") {
  Fixture f;
  auto r = f.req("vm-a");
  f.alloc.validate(r);
  Record rec = f.alloc.allocate(r);
  const auto& net = rec.get("net");
  CHECK(net["ip"] == "192.168.100.2");  // .1 is the gateway
  CHECK(net["gateway"] == "192.168.100.1");
  CHECK(net["prefix"] == 29);
  CHECK(net["mac"] == "06:00:c0:a8:64:02");
  CHECK(net["tap"] == "vmtap2");
  CHECK(net["bridge"] == "fcbr0");
  CHECK(f.net.master["vmtap2"] == "fcbr0");
  CHECK(f.state.load("vm-a").get("net") == net);
}

TEST_CASE("round-robin: a freed address is not handed out at once") {
  Fixture f;
  f.alloc.allocate(f.req("vm-a"));  // .2
  f.alloc.allocate(f.req("vm-b"));  // .3
  f.alloc.release("vm-a");
  CHECK(f.alloc.allocate(f.req("vm-c")).get("net")["ip"] == "192.168.100.4");
  CHECK(f.alloc.allocate(f.req("vm-d")).get("net")["ip"] == "192.168.100.5");
  CHECK(f.alloc.allocate(f.req("vm-e")).get("net")["ip"] == "192.168.100.6");
  // Wraps around to the freed one; never network, gateway or broadcast.
  CHECK(f.alloc.allocate(f.req("vm-f")).get("net")["ip"] == "192.168.100.2");
  try {
    f.alloc.allocate(f.req("vm-g"));
    FAIL("pool should be exhausted");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::exhausted);
    CHECK(std::string(e.what()).find("192.168.100.0/29") != std::string::npos);
    CHECK(std::string(e.what()).find("all 5 leasable") != std::string::npos);
  }
}

TEST_CASE("a failure half-way rolls back: no TAP, no lease, no record") {
  for (const char* step : {"create_tap", "set_up", "attach"}) {
    Fixture f;
    f.net.fail_on = step;
    CHECK_THROWS_AS(f.alloc.allocate(f.req("vm-a")), Error);
    CHECK(f.net.devices == std::set<std::string>{"fcbr0"});
    CHECK(f.leases() == 0);
    CHECK_FALSE(f.state.exists("vm-a"));
  }
}

TEST_CASE("bad requests are usage errors before anything changes") {
  Fixture f;
  auto expect_usage = [&](AllocRequest r) {
    try {
      f.alloc.validate(r);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
    }
  };
  auto r = f.req("vm-a");
  r.gateway = *Ipv4::parse("10.0.0.1");  // outside the pool
  expect_usage(r);
  r = f.req("vm-a");
  r.gateway = r.pool.broadcast();
  expect_usage(r);
  r = f.req("vm-a");
  r.bridge = "a-bridge-name-too-long";
  expect_usage(r);
  r = f.req("vm-a");
  r.tap_prefix = "averylongprefix";
  expect_usage(r);
  r = f.req("vm-a");
  r.bridge = "missing0";
  expect_usage(r);
  r.create_bridge = true;
  CHECK_NOTHROW(f.alloc.validate(r));
  CHECK(f.leases() == 0);
  CHECK(f.net.devices == std::set<std::string>{"fcbr0"});
}

TEST_CASE("release is idempotent; an unknown id is bad input") {
  Fixture f;
  f.alloc.allocate(f.req("vm-a"));
  CHECK(f.alloc.release("vm-a") == Allocator::Released::released);
  CHECK_FALSE(f.net.exists("vmtap2"));
  CHECK(f.alloc.release("vm-a") == Allocator::Released::already);
  try {
    f.alloc.release("vm-zz");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
  }
}

TEST_CASE("gc frees leases whose state is gone or whose VMM died, after the grace") {
  Fixture f;
  f.alloc.allocate(f.req("vm-gone"));
  f.alloc.allocate(f.req("vm-dead"));
  f.alloc.allocate(f.req("vm-alive"));
  f.alloc.allocate(f.req("vm-new"));
  fs::remove_all(f.state.vm_dir("vm-gone"));
  auto dead = f.state.load("vm-dead");
  dead.put("vmm", Json{{"pid", 999999999}, {"start_time", 1}});
  f.state.save(dead);
  auto alive = f.state.load("vm-alive");
  alive.put("vmm", Json{{"pid", ::getpid()}, {"start_time", *process_start_time(::getpid())}});
  f.state.save(alive);

  // Within the grace period nothing is taken.
  CHECK(f.alloc.gc(std::chrono::seconds(3600), false).empty());
  auto dry = f.alloc.gc(std::chrono::seconds(0), true);
  CHECK(dry.size() == 2);
  CHECK(f.leases() == 4);
  auto freed = f.alloc.gc(std::chrono::seconds(0), false);
  std::map<std::string, std::string> why;
  for (auto& s : freed) why[s.lease.id] = s.reason;
  CHECK(why ==
        std::map<std::string, std::string>{{"vm-gone", "no_state"}, {"vm-dead", "vmm_dead"}});
  CHECK(f.leases() == 2);
  CHECK_FALSE(f.net.exists("vmtap2"));
  CHECK_FALSE(f.net.exists("vmtap3"));
  CHECK(f.net.exists("vmtap4"));
}

TEST_CASE("gc frees leases made in an earlier boot of the host") {
  Fixture f;
  f.alloc.allocate(f.req("vm-old"));
  auto pool = Cidr::parse("192.168.100.0/29");
  const auto file = f.store.pool_dir(pool) / "192.168.100.2";
  auto text = read_file(file);
  const std::string boot = "\"boot_id\":\"" + boot_id() + "\"";
  REQUIRE(text.find(boot) != std::string::npos);
  text.replace(text.find(boot), boot.size(),
               "\"boot_id\":\"00000000-0000-0000-0000-000000000000\"");
  write_file_atomic(file, text);
  // Even then, not inside the grace period.
  CHECK(f.alloc.gc(std::chrono::seconds(3600), false).empty());
  auto freed = f.alloc.gc(std::chrono::seconds(0), false);
  REQUIRE(freed.size() == 1);
  CHECK(freed[0].reason == "earlier_boot");
  CHECK(f.leases() == 0);
}

TEST_CASE("an id is one VM's, also against an allocation of the same id at once") {
  Fixture f;
  f.alloc.allocate(f.req("vm-a"));
  // Even with its record not written yet: the state folder is the claim.
  fs::create_directories(f.state.vm_dir("vm-b"));
  for (const char* id : {"vm-a", "vm-b"}) {
    try {
      f.alloc.allocate(f.req(id));
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.reason() == "id_exists");
    }
  }
  CHECK(f.leases() == 1);
}

TEST_CASE("in a store shared by hosts, gc and release touch only this host's leases") {
  test::TempDir dir;
  State state{dir.path / "state", dir.path / "run"};
  FileLeaseStore store{dir.path / "state" / "leases"};
  FakeNet net;
  Allocator here{store, net, state, "host-a"};
  Allocator there{store, net, State{dir.path / "other", dir.path / "run2"}, "host-b"};
  AllocRequest r;
  r.pool = Cidr::parse("192.168.100.0/29");
  r.tap = false;
  r.id = "vm-a";
  here.allocate(r);
  r.id = "vm-b";
  there.allocate(r);
  // host-b's VM has no state here: still not ours to free.
  auto freed = here.gc(std::chrono::seconds(0), false);
  CHECK(freed.empty());
  try {
    here.release("vm-b");
    FAIL("released another host's lease");
  } catch (const Error& e) {
    CHECK(e.reason() == "other_host");
  }
  try {
    here.gc(std::chrono::seconds(0), false, std::string("host-a"));
    FAIL("gc --host of this host accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
  }
  auto dry = here.gc(std::chrono::seconds(0), true, std::string("host-b"));
  REQUIRE(dry.size() == 1);
  auto gone = here.gc(std::chrono::seconds(0), false, std::string("host-b"));
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].lease.id == "vm-b");
  CHECK(gone[0].reason == "host_gone");
  auto snap = store.snapshot();
  REQUIRE(snap.size() == 1);
  REQUIRE(snap[0].leases.size() == 1);
  CHECK(snap[0].leases[0].id == "vm-a");
  CHECK(snap[0].leases[0].host == "host-a");
}

TEST_CASE("undo takes back a VM nobody received: TAP, lease and state") {
  Fixture f;
  f.alloc.allocate(f.req("vm-a"));
  f.alloc.allocate(f.req("vm-b"));
  f.alloc.undo("vm-b");
  CHECK_FALSE(f.net.exists("vmtap3"));
  CHECK(f.leases() == 1);
  CHECK_FALSE(f.state.exists("vm-b"));
  CHECK(f.state.exists("vm-a"));  // the one received stays whole
  CHECK(f.net.exists("vmtap2"));
}
