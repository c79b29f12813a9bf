#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "helpers.hpp"
#include "lifecycle/destroy.hpp"
#include "net/alloc.hpp"
#include "proc/spawn.hpp"
#include "util/error.hpp"
#include "util/proc.hpp"

using namespace vmu;
using namespace vmu::lifecycle;
using namespace std::chrono_literals;

namespace {

class FakeNet : public NetDevices {
 public:
  std::set<std::string> devices{"fcbr0"};
  bool exists(const std::string& n) override { return devices.contains(n); }
  void create_tap(const std::string& n, std::optional<uid_t>) override { devices.insert(n); }
  void delete_tap(const std::string& n) override { devices.erase(n); }
  void create_bridge(const std::string& n) override { devices.insert(n); }
  void delete_bridge(const std::string& n) override { devices.erase(n); }
  void set_address(const std::string&, Ipv4, int) override {}
  void set_up(const std::string&) override {}
  void attach(const std::string&, const std::string&) override {}
};

struct Fixture {
  test::TempDir dir;
  State st{dir.path / "state", dir.path / "run"};
  FileLeaseStore store{dir.path / "state" / "leases"};
  FakeNet net;
  Allocator alloc{store, net, st};
  std::vector<Spawned> children;

  ~Fixture() {
    for (const auto& c : children) {
      stop_process(c.pid, c.start_time, 100ms);
      try_reap(c.pid);
    }
  }

  // A leased VM with a stand-in VMM (a sleeping child) and a console.
  Record vm(const std::string& id, bool with_vmm = true) {
    AllocRequest r;
    r.pool = Cidr::parse("10.9.0.0/29");
    r.id = id;
    r.dhcp_hostsdir = dir.path / "dhcp";
    std::filesystem::create_directories(*r.dhcp_hostsdir);
    Record rec = alloc.allocate(r);
    std::ofstream(st.console_log(id)) << "[    1.000000] Linux version test\n";
    if (with_vmm) {
      SpawnOptions o;
      o.argv = {"/bin/sleep", "60"};
      auto c = spawn_detached(o);
      children.push_back(c);
      rec.put("vmm", {{"backend", "qemu"},
                      {"pid", c.pid},
                      {"start_time", c.start_time},
                      {"console_log", st.console_log(id).string()},
                      {"log", st.vmm_log(id).string()}});
    }
    std::filesystem::create_directories(st.run_dir(id));
    st.save(rec);
    return rec;
  }
  std::size_t leases() {
    std::size_t n = 0;
    for (const auto& p : store.snapshot()) n += p.leases.size();
    return n;
  }
};

DestroyOptions quick() {
  DestroyOptions o;
  o.grace = 2000ms;
  return o;
}

bool has_event(const DestroyReport& r, const std::string& text, bool done) {
  for (const auto& e : r.events)
    if (e.done == done && e.text.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("destroy: VMM stopped, TAP and lease released, state removed, nothing archived") {
  Fixture f;
  Record rec = f.vm("vm-d1");
  const pid_t pid = rec.get("vmm")["pid"];
  const std::string tap = rec.get("net")["tap"];
  const std::string dhcp = rec.get("net")["dhcp_host_file"];
  REQUIRE(f.net.exists(tap));
  REQUIRE(std::filesystem::exists(dhcp));
  auto rep = destroy_vm(rec, f.st, f.store, f.net, quick());
  CHECK_FALSE(rep.passed);
  CHECK_FALSE(rep.archive);
  const auto status = try_reap(pid);  // our stand-in VMM: ended, waiting to be reaped
  REQUIRE(status);
  CHECK(status->signal == SIGTERM);
  CHECK_FALSE(f.net.exists(tap));
  CHECK_FALSE(std::filesystem::exists(dhcp));
  CHECK(f.leases() == 0);
  CHECK_FALSE(std::filesystem::exists(f.st.vm_dir("vm-d1")));
  CHECK_FALSE(std::filesystem::exists(f.st.run_dir("vm-d1")));
  const Json& d = rec.get("destroyed");
  CHECK(d["vmm"] == "sigterm");  // no QMP socket: signals
  CHECK(d["lease"] == "released");
  CHECK(d["state"] == "removed");
  CHECK(d["archive"].is_null());
  CHECK(has_event(rep, "stopped the VMM", true));
}

TEST_CASE("destroy: a failed VM is archived first, then removed") {
  Fixture f;
  Record rec = f.vm("vm-d2");
  rec.set_error({"vm-wait-ready", Exit::guest_failed, "unit_failed", "x"});
  f.st.save(rec);
  auto o = quick();
  auto rep = destroy_vm(rec, f.st, f.store, f.net, o);
  REQUIRE(rep.archive);
  CHECK(std::filesystem::exists(rep.archive->path));
  CHECK(rep.archive->path.parent_path() == f.st.archive_dir());
  CHECK(rec.get("archive")["path"] == rep.archive->path.string());
  CHECK(rec.get("destroyed")["archive"] == rep.archive->path.string());
  CHECK(rec.failed());  // the error stays
  CHECK_FALSE(std::filesystem::exists(f.st.vm_dir("vm-d2")));
}

TEST_CASE("destroy: half-dead VMs and a second destroy") {
  Fixture f;
  Record rec = f.vm("vm-d3", /*with_vmm=*/false);
  const std::string tap = rec.get("net")["tap"];
  f.net.delete_tap(tap);     // TAP already gone
  f.alloc.release("vm-d3");  // lease already free
  std::filesystem::remove(f.st.console_log("vm-d3"));
  auto rep = destroy_vm(rec, f.st, f.store, f.net, quick());
  CHECK(has_event(rep, "a VMM (the record names no vmm.pid)", false));
  CHECK(has_event(rep, "already free", false));
  CHECK(rec.get("destroyed")["state"] == "removed");
  // Again: nothing left, and that is fine.
  Record again = Record::from_json(Json{{"v", 1}, {"id", "vm-d3"}});
  auto rep2 = destroy_vm(again, f.st, f.store, f.net, quick());
  CHECK(has_event(rep2, "a lease for vm-d3", false));
  CHECK(has_event(rep2, "state folder", false));
  CHECK(again.get("destroyed")["state"] == "absent");
}

TEST_CASE("destroy: a VMM already dead, a reused pid left alone") {
  Fixture f;
  Record rec = f.vm("vm-d4");
  const pid_t pid = rec.get("vmm")["pid"];
  Json vmm = rec.get("vmm");
  vmm["start_time"] = vmm["start_time"].get<std::uint64_t>() + 1;  // "another process"
  rec.put("vmm", vmm);
  f.st.save(rec);
  auto rep = destroy_vm(rec, f.st, f.store, f.net, quick());
  CHECK(rec.get("destroyed")["vmm"] == "pid_reused");
  CHECK(process_alive(pid, std::nullopt));
  CHECK(f.leases() == 0);
}

TEST_CASE("destroy: ready VMs pass through unless all; keep_state saves the record") {
  Fixture f;
  Record rec = f.vm("vm-d5");
  rec.put("ready", {{"ok", true}, {"reason", "ready"}});
  f.st.save(rec);
  auto rep = destroy_vm(rec, f.st, f.store, f.net, quick());
  CHECK(rep.passed);
  CHECK_FALSE(rec.has("destroyed"));
  CHECK(f.leases() == 1);
  auto o = quick();
  o.all = true;
  o.keep_state = true;
  rep = destroy_vm(rec, f.st, f.store, f.net, o);
  CHECK_FALSE(rep.passed);
  CHECK(f.leases() == 0);
  REQUIRE(std::filesystem::exists(f.st.record_path("vm-d5")));
  CHECK(f.st.load("vm-d5").get("destroyed")["state"] == "kept");
}

TEST_CASE("parse_archive_when") {
  CHECK(parse_archive_when("failed") == ArchiveWhen::failed);
  CHECK(parse_archive_when("always") == ArchiveWhen::always);
  CHECK(parse_archive_when("never") == ArchiveWhen::never);
  CHECK_THROWS_AS(parse_archive_when("sometimes"), Error);
}

TEST_CASE("destroy: a record a power cut emptied is removed, unless its folder holds more") {
  test::TempDir dir;
  State st{dir.path / "state", dir.path / "run"};
  st.make_vm_dir("vm-a");
  write_file_atomic(st.record_path("vm-a"), "", 0640);
  write_file_atomic(st.vm_dir("vm-a") / ".record.json.tmp.1.0000abcd", "{", 0640);
  CHECK(lifecycle::remove_lost_record(st, "vm-a"));
  CHECK_FALSE(std::filesystem::exists(st.vm_dir("vm-a")));
  CHECK_FALSE(lifecycle::remove_lost_record(st, "vm-a"));  // gone: nothing to do

  Record rec = Record::create("vm-b");
  st.save(rec);
  CHECK_FALSE(lifecycle::remove_lost_record(st, "vm-b"));  // a whole record: destroy_vm's job
  CHECK(std::filesystem::exists(st.record_path("vm-b")));

  st.make_vm_dir("vm-c");
  write_file_atomic(st.record_path("vm-c"), "", 0640);
  write_file_atomic(st.vm_dir("vm-c") / "console.log", "boot", 0640);
  try {
    lifecycle::remove_lost_record(st, "vm-c");
    FAIL("a folder with a console log was removed");
  } catch (const Error& e) {
    CHECK(e.reason() == "bad_state");
    CHECK_THAT(e.what(), Catch::Contains("console.log"));
  }
  CHECK(std::filesystem::exists(st.vm_dir("vm-c") / "console.log"));
}
