#include <catch2/catch.hpp>

#include <fstream>

#include "ext4/image.hpp"
#include "ext4_test_image.hpp"
#include "inject/inject.hpp"
#include "util/error.hpp"

using namespace vmu;
namespace inj = vmu::inject;
using inj::parse_copy;
using inj::parse_mkdir;
using inj::refuse_golden;
using inj::Request;

namespace {
std::string file_sha(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  return s;
}
}  // namespace

TEST_CASE("inject: dry run, apply, record, idempotent", "[inject]") {
  test::TempImage t;
  const auto server = t.dir / "server";
  std::ofstream(server) << "#!/bin/sh\necho hi\n";
  const auto unit = t.dir / "a.service";
  std::ofstream(unit)
      << "[Service]\nExecStart=/opt/a/server\n[Install]\nWantedBy=multi-user.target\n";
  Request req;
  req.copies.push_back(parse_copy(server.string() + ":/opt/a/server:0755"));
  req.units.push_back(unit);
  req.env.push_back({"SESSION_ID", "very-secret"});

  const std::string before = file_sha(t.image);
  auto dry = inj::inject(t.image, req, {.dry_run = true});
  CHECK_FALSE(dry.applied);
  CHECK(file_sha(t.image) == before);
  for (const auto& line : dry.plan) CHECK(line.find("very-secret") == std::string::npos);
  REQUIRE(dry.warnings.size() == 2);  // no EnvironmentFile=; /etc/environment made 0600
  CHECK(dry.warnings[1].find("now 0600 root:root") != std::string::npos);
  CHECK(dry.warnings[0].find("EnvironmentFile=/etc/environment") != std::string::npos);

  auto res = inj::inject(t.image, req, {});
  CHECK(res.applied);
  CHECK(t.fsck_clean());
  auto j = res.agent_json();
  CHECK(j["files"][0]["path"] == "/opt/a/server");
  CHECK(j["files"][0]["mode"] == "0755");
  CHECK(j["files"][0]["size"] == 18);
  CHECK(j["files"][0]["sha256"].get_ref<const std::string&>().size() == 64);
  CHECK(j["units"][0]["name"] == "a.service");
  CHECK(j["units"][0]["enabled_in"][0] == "multi-user.target.wants");
  CHECK(j["env_file"] == "/etc/environment");
  CHECK(j["env_keys"][0] == "SESSION_ID");
  CHECK(j.dump().find("very-secret") == std::string::npos);

  auto again = inj::inject(t.image, req, {});
  CHECK(again.agent_json() == j);
  CHECK(t.fsck_clean());
  auto img = ext4::Image::open(t.image, ext4::Access::read_only);
  CHECK(img.read_file("/etc/environment") == "PATH=/usr/bin\nKEEP=1\nSESSION_ID=very-secret\n");
}

TEST_CASE("inject: a failed check writes nothing", "[inject]") {
  test::TempImage t;
  const std::string before = file_sha(t.image);
  Request req;
  req.mkdirs.push_back(parse_mkdir("/ok"));
  req.copies.push_back(parse_copy("/nonexistent/file:/x"));
  try {
    inj::inject(t.image, req, {});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
    CHECK(e.reason() == "bad_source");
  }
  Request big;
  const auto f = t.dir / "big";
  std::ofstream(f) << std::string(20u << 20, 'b');
  big.copies.push_back(parse_copy(f.string() + ":/big"));
  try {
    inj::inject(t.image, big, {});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::exhausted);
    CHECK(e.reason() == "image_full");
  }
  CHECK(file_sha(t.image) == before);
  CHECK_THROWS_AS(refuse_golden(t.image, {t.dir / "." / "img.ext4"}), Error);
  CHECK_NOTHROW(refuse_golden(t.image, {t.dir / "other"}));
}

TEST_CASE("inject: the env target holds secrets: 0600 root:root unless asked", "[inject]") {
  test::TempImage t;  // its /etc/environment is 0644
  Request req;
  req.env.push_back({"TOKEN", "s3cret"});
  auto res = inj::inject(t.image, req, {});
  CHECK(t.fsck_clean());
  auto mode_of = [&] {
    auto img = ext4::Image::open(t.image, ext4::Access::read_only);
    auto st = img.stat("/etc/environment", ext4::Follow::no);
    REQUIRE(st);
    CHECK(st->uid == 0);
    CHECK(st->gid == 0);
    return st->mode & 07777;
  };
  CHECK(mode_of() == 0600);
  REQUIRE(res.warnings.size() == 1);
  CHECK(res.warnings[0].find("now 0600 root:root") != std::string::npos);
  CHECK(res.agent_json()["env_mode"] == "0600");
  req.env_mode = 0640;
  res = inj::inject(t.image, req, {});
  CHECK(mode_of() == 0640);
  CHECK(res.agent_json()["env_mode"] == "0640");
}

TEST_CASE("inject: a stop before the write phase leaves the image unchanged", "[inject]") {
  test::TempImage t;
  Request req;
  req.env.push_back({"TOKEN", "s3cret"});
  const std::string before = file_sha(t.image);
  try {
    inj::inject(t.image, req, {.stop = [] { return true; }});
    FAIL("not stopped");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::interrupted);
    CHECK(std::string(e.what()).find("unchanged") != std::string::npos);
  }
  CHECK(file_sha(t.image) == before);
}

TEST_CASE("inject: a new folder is counted once in the inode estimate", "[inject]") {
  test::TempImage t;
  const auto src = t.dir / "many";
  std::filesystem::create_directories(src);
  for (int i = 0; i < 50; ++i) std::ofstream(src / ("f" + std::to_string(i))) << i;
  Request req;
  req.copies.push_back(parse_copy(src.string() + ":/opt/new/many"));
  auto res = inj::inject(t.image, req, {.dry_run = true});
  // 50 files, /opt, /opt/new, /opt/new/many: 53, not twice the files.
  CHECK(res.inodes_needed == 53);
}

TEST_CASE("inject: --reporter installs the script and its enabled unit", "[inject]") {
  test::TempImage t;
  const auto unit = t.dir / "vm-agent.service";
  std::ofstream(unit)
      << "[Service]\nExecStart=/opt/a/server\n[Install]\nWantedBy=multi-user.target\n";
  Request req;
  req.units.push_back(unit);
  req.reporter = inj::ReporterSpec{};
  auto res = inj::inject(t.image, req, {});
  CHECK(t.fsck_clean());
  auto j = res.agent_json();
  REQUIRE(j.contains("reporter"));
  CHECK(j["reporter"]["unit"] == "vmutils-reporter.service");
  CHECK(j["reporter"]["port"] == 8080);
  CHECK(j["reporter"]["units"] == nlohmann::json::array({"vm-agent.service"}));
  CHECK(j["units"].size() == 1);  // the reporter is not one of the agent's units
  auto img = ext4::Image::open(t.image, ext4::Access::read_only);
  auto st = img.stat("/usr/local/lib/vmutils/vmutils-reporter.sh");
  REQUIRE(st);
  CHECK(st->mode == 0755);
  CHECK(img.read_file("/usr/local/lib/vmutils/vmutils-reporter.sh") ==
        std::string(inj::reporter_script()));
  CHECK(img.read_file("/etc/systemd/system/vmutils-reporter.service").find("vm-agent.service") !=
        std::string::npos);
  CHECK(img.read_link("/etc/systemd/system/multi-user.target.wants/vmutils-reporter.service") ==
        "/etc/systemd/system/vmutils-reporter.service");
  // Idempotent.
  auto again = inj::inject(t.image, req, {});
  CHECK(again.agent_json() == j);
  CHECK(t.fsck_clean());
}

TEST_CASE("inject: a spec's reporter, with port and units", "[inject]") {
  auto r = inj::parse_spec(nlohmann::json::parse(R"({"reporter":{"port":9000,"units":["x"]}})"),
                           ".", [](const std::string&) { return std::nullopt; });
  REQUIRE(r.reporter);
  CHECK(r.reporter->port == 9000);
  CHECK(r.reporter->units == std::vector<std::string>{"x.service"});
  CHECK(inj::parse_spec(nlohmann::json::parse(R"({"reporter":true})"), ".", [](const std::string&) {
          return std::nullopt;
        }).reporter);
  CHECK_THROWS_AS(inj::parse_spec(nlohmann::json::parse(R"({"reporter":{"port":0}})"), ".",
                                  [](const std::string&) { return std::nullopt; }),
                  Error);
  CHECK_THROWS_AS(inj::parse_port("70000", "--reporter-port"), Error);
  CHECK(inj::parse_port("8081", "--reporter-port") == 8081);
}

TEST_CASE("merge_agent: env_keys union, units by name, files by path, others last-wins") {
  const auto before = nlohmann::json::parse(R"({
    "files": [{"path": "/a", "size": 1}, {"path": "/b", "size": 2}],
    "units": [{"name": "x.service", "enabled_in": ["w1"]}],
    "env_file": "/etc/environment", "env_mode": "0600", "env_keys": ["ONE", "TWO"],
    "reporter": {"port": 8080}})");
  const auto fresh = nlohmann::json::parse(R"({
    "files": [{"path": "/b", "size": 3}, {"path": "/c", "size": 4}],
    "units": [{"name": "y.service", "enabled_in": []}, {"name": "x.service", "enabled_in": ["w2"]}],
    "env_keys": ["THREE", "ONE"], "journal": {"persistent": true}})");
  const auto m = vmu::inject::merge_agent(before, fresh);
  CHECK(m["env_keys"] == nlohmann::json({"ONE", "TWO", "THREE"}));
  CHECK(m["files"] == nlohmann::json::parse(R"([{"path": "/a", "size": 1},
      {"path": "/b", "size": 3}, {"path": "/c", "size": 4}])"));
  CHECK(m["units"] == nlohmann::json::parse(R"([{"name": "x.service", "enabled_in": ["w2"]},
      {"name": "y.service", "enabled_in": []}])"));
  CHECK(m["env_file"] == "/etc/environment");
  CHECK(m["reporter"]["port"] == 8080);
  CHECK(m["journal"]["persistent"] == true);
  CHECK(vmu::inject::merge_agent(nlohmann::json(), fresh) == fresh);
  CHECK(vmu::inject::merge_agent(nlohmann::json("junk"), fresh) == fresh);
}
