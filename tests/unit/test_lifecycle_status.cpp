#include <catch2/catch.hpp>

#include "lifecycle/status.hpp"
#include "util/time.hpp"

using namespace vmu;
using namespace vmu::lifecycle;

namespace {

const SysTime kNow = *parse_rfc3339("2026-11-26T02:00:00Z");

Record rec(Json extra) {
  Json j = {{"v", 1}, {"id", "vm-1"}, {"created", "2026-11-26T01:00:00Z"}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  return Record::from_json(j);
}

const Json kVmm = {{"backend", "qemu"}, {"pid", 4242}, {"console_log", "/s/vms/vm-1/console.log"}};

}  // namespace

TEST_CASE("classify: each state from the record and the live check") {
  auto created = classify("vm-1", rec({{"net", {{"ip", "10.0.0.2"}, {"tap", "vmtap2"}}}}), "",
                          false, "b", kNow);
  CHECK(created.state == VmState::created);
  CHECK(created.ip == "10.0.0.2");
  CHECK(created.age_s == 3600);

  auto running = classify("vm-1", rec({{"vmm", kVmm}}), "", true, "b", kNow);
  CHECK(running.state == VmState::running);
  CHECK(running.pid == 4242);
  CHECK(running.backend == "qemu");

  auto ready =
      classify("vm-1", rec({{"vmm", kVmm}, {"ready", {{"ok", true}}}}), "", true, "b", kNow);
  CHECK(ready.state == VmState::ready);
  // Ready, but the VMM is gone since: exited.
  CHECK(classify("vm-1", rec({{"vmm", kVmm}, {"ready", {{"ok", true}}}}), "", false, "b", kNow)
            .state == VmState::exited);

  auto failed =
      classify("vm-1", rec({{"vmm", kVmm}, {"ready", {{"ok", false}, {"reason", "timeout"}}}}), "",
               true, "b", kNow);
  CHECK(failed.state == VmState::failed);
  CHECK(failed.reason == "timeout");
  CHECK(failed.vmm_alive);
  auto errored =
      classify("vm-1", rec({{"error", {{"tool", "fc-launch"}, {"reason", "spawn_failed"}}}}), "",
               false, "b", kNow);
  CHECK(errored.state == VmState::failed);
  CHECK(errored.reason == "spawn_failed");

  auto exited = classify("vm-1", rec({{"vmm", kVmm}}), "", false, "b", kNow);
  CHECK(exited.state == VmState::exited);
  CHECK(exited.reason == "vmm_gone");

  auto earlier =
      classify("vm-1", rec({{"vmm", kVmm}, {"rootfs", {{"boot_id", "a"}}}}), "", false, "b", kNow);
  CHECK(earlier.state == VmState::stale);
  CHECK(earlier.reason == "earlier_boot");

  auto none = classify("vm-1", std::nullopt, "", false, "b", kNow);
  CHECK(none.state == VmState::stale);
  CHECK(none.reason == "no_record");
  auto bad = classify("vm-1", std::nullopt, "record 'x' is not JSON", false, "b", kNow);
  CHECK(bad.reason == "bad_record");
  CHECK(bad.full()["status"]["problem"] == "record 'x' is not JSON");
}

TEST_CASE("row and full view") {
  auto s =
      classify("vm-1", rec({{"vmm", kVmm}, {"net", {{"ip", "10.0.0.2"}}}}), "", true, "b", kNow);
  const Json r = s.row();
  CHECK(r["id"] == "vm-1");
  CHECK(r["state"] == "running");
  CHECK(r["address"] == "10.0.0.2");
  CHECK(r["tap"].is_null());
  CHECK(r["age"] == "60m");
  CHECK(r["console"] == "/s/vms/vm-1/console.log");
  const Json f = s.full();
  CHECK(f["vmm"]["pid"] == 4242);
  CHECK(f["status"]["state"] == "running");
  CHECK_FALSE(f["status"].contains("id"));
}

TEST_CASE("format_age, record_failed, record_ready") {
  CHECK(format_age(5) == "5s");
  CHECK(format_age(119) == "119s");
  CHECK(format_age(600) == "10m");
  CHECK(format_age(3 * 3600) == "3h");
  CHECK(format_age(5 * 86400) == "5d");
  CHECK(format_age(-3) == "0s");
  CHECK(record_failed(rec({{"ready", {{"ok", false}}}})));
  CHECK(record_failed(rec({{"error", {{"tool", "x"}}}})));
  CHECK_FALSE(record_failed(rec({{"ready", {{"ok", true}}}})));
  CHECK(record_ready(rec({{"ready", {{"ok", true}}}})));
  CHECK_FALSE(record_ready(rec({{"ready", {{"ok", true}}}, {"error", {{"tool", "x"}}}})));
  CHECK_FALSE(record_ready(rec({})));
}

TEST_CASE("status: another host's VM is what its mirrored record says, its VMM unchecked") {
  const auto launched = rec({{"vmm", {{"backend", "qemu"}, {"pid", 4242}}}});
  VmStatus s = status_of_mirrored("vm-1", "host-b", launched);
  CHECK(s.state == VmState::running);
  CHECK(s.remote);
  CHECK(s.row()["host"] == "host-b");
  CHECK(s.row()["vmm_alive"].is_null());
  CHECK(status_of_mirrored("vm-1", "host-b", rec(Json::object())).state == VmState::created);
  CHECK(
      status_of_mirrored("vm-1", "host-b", rec({{"vmm", {{"pid", 1}}}, {"ready", {{"ok", true}}}}))
          .state == VmState::ready);
}
