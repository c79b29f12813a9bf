#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "evidence/archive.hpp"
#include "evidence/redact.hpp"
#include "ext4_test_image.hpp"
#include "helpers.hpp"
#include "inject/sha256.hpp"
#include "util/error.hpp"

using namespace vmu;
using namespace vmu::evidence;
namespace fs = std::filesystem;

namespace {

const std::string kSecret = "tok-7f3a9c1e-SECRET-5b2d";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every member of a .tar.gz: name -> contents, in order.
std::vector<std::pair<std::string, std::string>> read_tar(const fs::path& p) {
  std::vector<std::pair<std::string, std::string>> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_filename(a, p.c_str(), 65536) == ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
      data.append(buf, static_cast<std::size_t>(n));
    out.emplace_back(archive_entry_pathname(e), data);
  }
  archive_read_free(a);
  return out;
}

struct Vm {
  test::TempDir d;
  State st{d.path / "state", d.path / "run"};
  std::string id = "vm-evid01";
  fs::path image;
  Json rec;

  Vm() {
    const fs::path root = d.path / "root";
    fs::create_directories(root / "etc/systemd/system/vm-agent.service.d");
    std::ofstream(root / "etc/environment")
        << "PATH=/usr/bin\nSESSION_ID=" << kSecret << "\nSHORT=on\n";
    std::ofstream(root / "etc/systemd/system/vm-agent.service")
        << "[Unit]\nDescription=test agent\n[Service]\nType=exec\n"
           "EnvironmentFile=/etc/environment\nExecStart=/opt/vm-agent/vm-agent\n"
           "[Install]\nWantedBy=multi-user.target\n";
    std::ofstream(root / "etc/systemd/system/vm-agent.service.d/10-debug.conf")
        << "[Service]\nEnvironment=DEBUG=1\n";
    fs::create_directories(st.vm_dir(id));
    image = st.rootfs_path(id);
    REQUIRE(test::run_quiet({"mke2fs", "-q", "-F", "-t", "ext4", "-d", root.string(),
                             image.string(), "16M"}) == 0);
    std::ofstream(st.console_log(id), std::ios::binary)
        << "[    0.000000] Linux version 6.1.0-test\n"
           "[    2.000000] Run /init as init process\n"
           "[    9.000000] systemd[1]: Starting vm-agent.service - test agent...\n"
           "[    9.100000] (vm-agent)[168]: vm-agent.service: Failed to locate executable "
           "/opt/vm-agent/vm-agent: No such file or directory\n"
           "[    9.200000] vm-agent[168]: leaking token="
        << kSecret << " to the console\n"
        << "[    9.300000] systemd[1]: vm-agent.service: Main process exited, code=exited, "
           "status=203/EXEC\n"
           "\x1b[0;1;31mFAILED\x1b[0m] Failed to start vm-agent.service - test agent.\n"
           "[    9.400000] systemd[1]: vm-agent.service: Failed with result 'exit-code'.\n"
           "[   10.000000] systemd[1]: Reached target multi-user.target - Multi-User System.\n";
    std::ofstream(st.vmm_log(id)) << "qemu: terminating on signal 15\n";
    rec = {
        {"v", 1},
        {"id", id},
        {"created", "2026-11-26T01:26:57Z"},
        {"net", {{"ip", "10.99.0.2"}, {"tap", "vmtapnone9"}, {"bridge", "nobr9"}}},
        {"rootfs", {{"path", image.string()}}},
        {"vmm",
         {{"backend", "qemu"},
          {"pid", 999999999},
          {"start_time", 1},
          {"console_log", st.console_log(id).string()},
          {"log", st.vmm_log(id).string()}}},
        {"agent",
         {{"units", {{{"name", "vm-agent.service"}, {"enabled_in", {"multi-user.target.wants"}}}}},
          {"env_file", "/etc/environment"},
          {"env_keys", {"SESSION_ID", "SHORT"}}}},
        {"ready",
         {{"ok", false},
          {"reason", "unit_failed"},
          {"evidence", {"vm-agent[168]: leaking token=" + kSecret + " to the console"}}}},
        {"error",
         {{"tool", "vm-wait-ready"}, {"code", 4}, {"reason", "unit_failed"}, {"message", "x"}}}};
  }
  Record record() const { return Record::from_json(rec); }
};

}  // namespace

TEST_CASE("make_archive: members, manifest digests, the secret nowhere") {
  Vm vm;
  ArchiveOptions o;
  o.redact = {"NOPE"};
  const ArchiveResult res = make_archive(vm.record(), vm.st, o);

  // Named by id and time, alone in the archive folder (no temp, no staging).
  CHECK(res.path.parent_path() == vm.st.archive_dir());
  REQUIRE(parse_archive_name(res.path.filename().string()));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(vm.st.archive_dir()))
    names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{res.path.filename().string()});
  CHECK(res.size == fs::file_size(res.path));
  CHECK(res.sha256 == inject::sha256_hex(slurp(res.path)));

  const std::string raw = slurp(res.path);
  CHECK(raw.find(kSecret) == std::string::npos);
  const auto members = read_tar(res.path);
  const std::string base = res.path.filename().string().substr(
      0, res.path.filename().string().size() - std::string(".tar.gz").size());
  std::map<std::string, std::string> by_name;
  for (const auto& [name, data] : members) {
    INFO(name);
    REQUIRE(name.rfind(base + "/", 0) == 0);
    CHECK(data.find(kSecret) == std::string::npos);
    by_name[name.substr(base.size() + 1)] = data;
  }
  REQUIRE(members.size() >= 2);
  CHECK(members[0].first == base + "/summary.txt");
  CHECK(members[1].first == base + "/manifest.json");
  for (const char* want : {"record.json", "console.log", "vmm.log", "rootfs/etc/environment",
                           "rootfs/etc/systemd/system/vm-agent.service",
                           "rootfs/etc/systemd/system/vm-agent.service.d/10-debug.conf",
                           "preflight.json", "host/network.json"})
    CHECK(by_name.count(want) == 1);

  // Redacted by value where the secret was.
  CHECK(by_name["console.log"].find("token=[redacted:SESSION_ID] to the console") !=
        std::string::npos);
  CHECK(by_name["record.json"].find("[redacted:SESSION_ID]") != std::string::npos);
  CHECK(by_name["rootfs/etc/environment"] ==
        "PATH=/usr/bin\nSESSION_ID=[redacted:SESSION_ID]\nSHORT=[redacted:SHORT]\n");
  CHECK(res.redacted_keys == std::vector<std::string>{"SESSION_ID", "SHORT"});
  CHECK(res.short_keys == std::vector<std::string>{"SHORT"});
  CHECK(res.absent_keys == std::vector<std::string>{"NOPE"});

  // The manifest lists every other member with its size and digest.
  const Json m = Json::parse(by_name["manifest.json"]);
  CHECK(m["id"] == vm.id);
  std::size_t listed = 0;
  for (const auto& e : m["members"]) {
    const std::string name = e["name"];
    INFO(name);
    REQUIRE(by_name.count(name) == 1);
    CHECK(e["size"] == by_name[name].size());
    CHECK(e["sha256"] == inject::sha256_hex(by_name[name]));
    ++listed;
  }
  CHECK(listed == members.size() - 1);  // all but the manifest itself
  std::set<std::string> missing;
  for (const auto& e : m["missing"]) missing.insert(e["item"].get<std::string>());
  CHECK(missing.count("journal") == 1);
  CHECK(missing.count("reporter.json") == 1);
  CHECK(missing.count("host/dhcp-host") == 1);
  CHECK(m["redaction"]["short"] == Json{"SHORT"});
  CHECK(m["redaction"]["min_bytes"] == kMinRedactBytes);

  // The summary: both verdicts, where to look.
  const std::string& s = by_name["summary.txt"];
  CHECK(s.find("vm-wait-ready: NOT READY (unit_failed)") != std::string::npos);
  CHECK(s.find("console analysis: FAILED (unit_failed)") != std::string::npos);
  CHECK(s.find("Failed to locate executable /opt/vm-agent/vm-agent") != std::string::npos);
  CHECK(s.find("less -R +4g console.log") != std::string::npos);
  CHECK(s.find("exec_not_found") != std::string::npos);
  CHECK(s.find("TAP vmtapnone9: not present") != std::string::npos);
  CHECK(res.verdict == "unit_failed (vm-agent.service)");

  const Json sec = res.section();
  CHECK(sec["path"] == res.path.string());
  CHECK(sec["sha256"] == res.sha256);
  CHECK(sec["size"] == res.size);
}

TEST_CASE("make_archive: a second archive in the same second, and retention") {
  Vm vm;
  ArchiveOptions o;
  auto a = make_archive(vm.record(), vm.st, o);
  auto b = make_archive(vm.record(), vm.st, o);
  CHECK(a.path != b.path);
  CHECK(fs::exists(a.path));
  o.keep = 1;
  auto c = make_archive(vm.record(), vm.st, o);
  CHECK(fs::exists(c.path));
  CHECK(c.pruned.size() == 2);
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(vm.st.archive_dir())) {
    (void)e;
    ++n;
  }
  CHECK(n == 1);
}

TEST_CASE("make_archive: keys whose values cannot be read: no archive at all") {
  Vm vm;
  fs::remove(vm.image);
  try {
    make_archive(vm.record(), vm.st, {});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::failed);
    CHECK(e.reason() == "cannot_redact");
    CHECK(std::string(e.what()).find(kSecret) == std::string::npos);
  }
  CHECK(fs::is_empty(vm.st.archive_dir()));
  // Without keys to redact the same VM is archived with what there is.
  vm.rec["agent"].erase("env_keys");
  auto res = make_archive(vm.record(), vm.st, {});
  std::set<std::string> missing;
  for (const auto& m : res.missing) missing.insert(m.item);
  CHECK(missing.count("rootfs") == 1);
}

TEST_CASE("make_archive: an image whose journal needs recovery is read from a replayed copy") {
  Vm vm;
  REQUIRE(test::run_quiet({"debugfs", "-w", "-R", "feature needs_recovery", vm.image.string()}) ==
          0);
  const std::string before = inject::sha256_hex(slurp(vm.image));
  const ArchiveResult res = make_archive(vm.record(), vm.st, {});
  CHECK(inject::sha256_hex(slurp(vm.image)) == before);  // the image is never changed
  std::map<std::string, std::string> by_name;
  for (const auto& [name, data] : read_tar(res.path))
    by_name[name.substr(name.find('/') + 1)] = data;
  const Json m = Json::parse(by_name["manifest.json"]);
  CHECK(m["image"]["read"].get<std::string>().find("journal replayed") != std::string::npos);
  CHECK(by_name["rootfs/etc/environment"].find("SESSION_ID=[redacted:SESSION_ID]") !=
        std::string::npos);
  CHECK(by_name["summary.txt"].find("read from a private copy") != std::string::npos);
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(vm.st.archive_dir())) {
    (void)e;
    ++n;
  }
  CHECK(n == 1);  // no copy, staging folder or temporary file left behind
}

TEST_CASE("manifest_json shape") {
  const Json m = manifest_json("vm-1", "2026-01-01T00:00:00Z", "vm-logs-archive 0.1.0",
                               {{"console.log", "/x/console.log", 3, "abc", true}},
                               {{"journal", "no journal"}}, {"K"}, {}, {"Q"}, 7,
                               {{"path", "/i"}, {"read", "as it is"}});
  CHECK(m["v"] == 1);
  CHECK(m["members"][0] == Json{{"name", "console.log"},
                                {"size", 3},
                                {"sha256", "abc"},
                                {"source", "/x/console.log"},
                                {"truncated", true}});
  CHECK(m["missing"][0] == Json{{"item", "journal"}, {"why", "no journal"}});
  CHECK(m["redaction"]["replacements"] == 7);
  CHECK(m["redaction"]["absent"] == Json{"Q"});
  CHECK(m["image"]["read"] == "as it is");
}
