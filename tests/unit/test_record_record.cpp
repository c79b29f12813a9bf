#include <catch2/catch.hpp>

#include "record/record.hpp"

using namespace vmu;

// The example record of DESIGN.md's pipeline contract, plus fields this
// version does not know, which must come back unchanged.
static const char* kExample = R"({"v": 1, "id": "vm-3f9c2a1b", "created": "2026-11-26T01:26:57Z",
 "net":    {"pool": "192.168.100.0/24", "ip": "192.168.100.6", "prefix": 24,
            "gateway": "192.168.100.1", "mac": "06:00:c0:a8:64:06",
            "tap": "vmtap6", "bridge": "fcbr0"},
 "rootfs": {"path": "/var/lib/vmutils/vms/vm-3f9c2a1b/rootfs.ext4",
            "golden": "/srv/images/golden-rootfs.ext4",
            "golden_sha256": "...", "golden_uuid": "...", "method": "copy",
            "bytes_copied": 195035136, "elapsed_ms": 812},
 "agent":  {"files": [{"path": "/opt/vm-browser-agent/server", "mode": "0755",
                       "uid": 0, "gid": 0, "size": 48213, "sha256": "..."}],
            "units": [{"name": "vm-browser-agent.service",
                       "enabled_in": ["multi-user.target.wants"]}],
            "env_file": "/etc/environment", "env_keys": ["SESSION_ID"]},
 "vmm":    {"backend": "qemu", "accel": "tcg", "pid": 4242,
            "start_time": 8812345, "console_log": ".../console.log",
            "log": ".../vmm.log", "control_socket": "/run/vmutils/vm-3f9c2a1b/qmp.sock",
            "kernel": "...", "initrd": "...", "boot_args": "..."},
 "ready":  {"ok": false, "reason": "unit_failed",
            "unit": "vm-browser-agent.service", "elapsed_ms": 9843,
            "evidence": ["vm-browser-agent.service: Failed to locate executable ..."]},
 "error":  {"tool": "vm-wait-ready", "code": 4, "reason": "unit_failed",
            "message": "..."},
 "future_section": {"x": [1, 2, {"y": null}]}, "top_level_extra": 3.5})";

TEST_CASE("the DESIGN.md example record round-trips, unknown fields kept") {
  const auto original = Json::parse(kExample);
  Record r = Record::parse(kExample);
  CHECK(r.id() == "vm-3f9c2a1b");
  CHECK(r.failed());
  CHECK(r.error().code == Exit::guest_failed);
  CHECK(r.error().reason == "unit_failed");
  CHECK(Json::parse(r.dump()) == original);
  CHECK(r.dump().find('\n') == std::string::npos);

  // Replacing one section leaves every other one as it came.
  r.put("net", Json{{"ip", "10.0.0.2"}});
  auto after = Json::parse(r.dump());
  CHECK(after["net"] == Json{{"ip", "10.0.0.2"}});
  CHECK(after["future_section"] == original["future_section"]);
  CHECK(after["rootfs"] == original["rootfs"]);
  CHECK(after["top_level_extra"] == 3.5);
}

TEST_CASE("malformed record lines are refused with a reason") {
  auto refused = [](const char* line) {
    try {
      Record::parse(line);
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(e.reason() == "bad_record");
      return true;
    }
    return false;
  };
  CHECK(refused(""));
  CHECK(refused("{"));
  CHECK(refused("[1,2]"));
  CHECK(refused(R"({"v":1})"));
  CHECK(refused(R"({"v":1,"id":7})"));
  CHECK(refused(R"({"v":1,"id":"Bad_Id"})"));
  CHECK(refused(R"({"id":"vm-1"})"));
  CHECK(refused(R"({"v":"1","id":"vm-1"})"));
  CHECK(refused(R"({"v":2,"id":"vm-1"})"));  // newer major version
  CHECK(refused(R"({"v":0,"id":"vm-1"})"));
  CHECK(refused(R"({"v":-7,"id":"vm-1"})"));
  CHECK(refused(R"({"v":18446744073709551615,"id":"vm-1"})"));
  CHECK(refused(R"({"v":9223372036854775808,"id":"vm-1"})"));
  CHECK(refused(R"({"v":1,"id":"vm-1","x":1e400})"));  // no double holds it
  CHECK_FALSE(refused(R"({"v":1,"id":"vm-1"})"));
}

TEST_CASE("VM ids") {
  CHECK(valid_vm_id("vm-3f9c2a1b"));
  CHECK(valid_vm_id("a"));
  CHECK(valid_vm_id(std::string(40, 'a')));
  CHECK_FALSE(valid_vm_id(std::string(41, 'a')));
  CHECK_FALSE(valid_vm_id("-vm"));
  CHECK_FALSE(valid_vm_id("VM"));
  CHECK_FALSE(valid_vm_id("vm_1"));
  CHECK_FALSE(valid_vm_id("vm/../x"));
  for (int i = 0; i < 100; ++i) {
    auto id = generate_vm_id();
    CHECK(valid_vm_id(id));
    CHECK(id.size() == 11);
    CHECK(id.rfind("vm-", 0) == 0);
  }
}

TEST_CASE("an error section of the wrong shape is read, not thrown") {
  // Found by fuzz/record: {"error":{"tool":7}} escaped as a JSON type error.
  for (const char* line : {R"({"v":1,"id":"a","error":{"tool":7,"code":"x","reason":[]}})",
                           R"({"v":1,"id":"a","error":5})", R"({"v":1,"id":"a","error":null})",
                           R"({"v":1,"id":"a","error":{"code":99999}})"}) {
    const Record r = Record::parse(line);
    CHECK(r.failed());
    const RecordError e = r.error();
    CHECK(e.tool.empty());
    CHECK(e.code == Exit::failed);
  }
}

TEST_CASE("the error section") {
  Record r = Record::create("vm-1");
  CHECK_FALSE(r.failed());
  r.set_error({"rootfs-clone", Exit::exhausted, "disk_full", "no space"});
  auto j = Json::parse(r.dump());
  CHECK(j["error"] == Json{{"tool", "rootfs-clone"},
                           {"code", 5},
                           {"reason", "disk_full"},
                           {"message", "no space"}});
  CHECK(j["v"] == 1);
  CHECK(j["created"].get<std::string>().size() == 20);
}

TEST_CASE("nesting is bounded before any value is built") {
  // 100,000 deep crashed the tools (recursive copy/dump); the bound is
  // checked on the text, so no deep value ever exists.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string line = R"({"id":"a","v":1,"x":)" + deep + "}";
  try {
    Record::parse(line);
    FAIL("a 100,000-deep record was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
    CHECK(e.reason() == "bad_record");
    CHECK(std::string(e.what()).find("nested deeper than 64") != std::string::npos);
  }
  // At the bound: accepted (the record object itself is one level).
  const std::string ok =
      R"({"id":"a","v":1,"x":)" + std::string(63, '[') + std::string(63, ']') + "}";
  CHECK(Record::parse(ok).id() == "a");
  // Brackets inside strings do not count, escaped quotes included.
  const std::string in_string =
      R"({"id":"a","v":1,"x":"\"[[[[)" + std::string(200, '[') + R"(\""})";
  CHECK(Record::parse(in_string).id() == "a");
}

TEST_CASE("parse_json names what it parsed") {
  try {
    parse_json("[1e400]", "--spec 'x.json'");
    FAIL("1e400 was accepted");
  } catch (const Error& e) {
    CHECK(e.reason() == "bad_json");
    CHECK(std::string(e.what()).rfind("--spec 'x.json': not valid JSON", 0) == 0);
  }
  CHECK(parse_json(R"({"a":[1,2]})", "x")["a"][1] == 2);
}
