#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "inject/env.hpp"
#include "inject/request.hpp"
#include "inject/sha256.hpp"
#include "inject/unit.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace vmu;
using namespace vmu::inject;

namespace {
Getenv fake_env() {
  return [](const std::string& k) -> std::optional<std::string> {
    if (k == "TOKEN") return "from-env";
    return std::nullopt;
  };
}
std::string reason_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
    return e.reason();
  }
  return "";
}
}  // namespace

TEST_CASE("inject: parse_copy", "[inject]") {
  auto c = parse_copy("bin/server:/opt/agent/server:0755:1000:1001");
  CHECK(c.src == "bin/server");
  CHECK(c.dest == "/opt/agent/server");
  CHECK(*c.mode == 0755);
  CHECK(*c.uid == 1000);
  CHECK(*c.gid == 1001);
  CHECK(parse_copy("a:/x/").dest == "/x/");
  CHECK_FALSE(parse_copy("a:/x").mode);
  CHECK(reason_of([] { parse_copy("a"); }) == "bad_copy");
  CHECK(reason_of([] { parse_copy("a:/x:0755:1"); }) == "bad_copy");
  CHECK(reason_of([] { parse_copy("a:/x:0855"); }) == "bad_mode");
  CHECK(reason_of([] { parse_copy("a:/x:77777"); }) == "bad_mode");
  CHECK(reason_of([] { parse_copy("a:/x:0755:root:0"); }) == "bad_owner");
  CHECK(reason_of([] { parse_copy("a:x"); }) == "relative_path");
  CHECK(reason_of([] { parse_copy("a:/x/../y"); }) == "dotdot");
}

TEST_CASE("inject: parse_mkdir, parse_symlink, check_guest_path", "[inject]") {
  CHECK(parse_mkdir("/var/lib/x:0700").mode == 0700);
  CHECK(parse_mkdir("/var/lib/x").mode == 0755);
  CHECK(parse_symlink("../lib/a:/usr/bin/a").target == "../lib/a");
  CHECK(parse_symlink("../lib/a:/usr/bin/a").link == "/usr/bin/a");
  CHECK(reason_of([] { parse_symlink("nolink"); }) == "bad_symlink");
  CHECK(check_guest_path("/a/./b//", "t") == "/a/b");
  CHECK(reason_of([] { check_guest_path("/..", "t"); }) == "dotdot");
}

TEST_CASE("inject: parse_env never quotes values", "[inject]") {
  auto env = fake_env();
  CHECK(parse_env("A=b=c", env).value == "b=c");
  CHECK(parse_env("TOKEN", env).value == "from-env");
  CHECK(reason_of([&] { parse_env("UNSET", env); }) == "env_unset");
  CHECK(reason_of([&] { parse_env("1A=x", env); }) == "bad_env");
  try {
    parse_env("K=sec\nret", env);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("sec") == std::string::npos);
  }
  // Without '=' the word may be a secret typed without KEY=: never echoed.
  for (const char* word : {"supersecret123", "hunter2!x"}) {
    try {
      parse_env(word, env);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(word) == std::string::npos);
    }
  }
}

TEST_CASE("inject: --env-file values are checked like --env's", "[inject]") {
  vmu::test::TempDir d;
  const auto f = d.path / "env";
  vmu::write_file_atomic(f, std::string("A=1\nB=x\0y\n", 10));
  try {
    parse_env_file(f);
    FAIL("a NUL byte was accepted");
  } catch (const Error& e) {
    CHECK(e.reason() == "bad_env");
    CHECK(std::string(e.what()).find("line 2") != std::string::npos);
  }
  vmu::write_file_atomic(f, "A=1\nexport B=two\n");
  CHECK(parse_env_file(f).at(1).value == "two");
}

TEST_CASE("inject: parse_spec", "[inject]") {
  using nlohmann::json;
  auto env = fake_env();
  auto r = parse_spec(json::parse(R"({"version":1,
      "mkdir":[{"path":"/var/lib/a","mode":"0700"}],
      "copy":[{"src":"server","dest":"/opt/a/server","mode":"0755","uid":1,"gid":2}],
      "symlink":[{"target":"/opt/a/server","link":"/usr/bin/a"}],
      "unit":["a.service"], "env":{"A":"1","TOKEN":null}, "env_target":"/etc/a.env"})"),
                      "/base", env);
  CHECK(r.mkdirs.at(0).mode == 0700);
  CHECK(r.copies.at(0).src == "/base/server");
  CHECK(*r.copies.at(0).uid == 1);
  CHECK(r.units.at(0) == "/base/a.service");
  REQUIRE(r.env.size() == 2);
  CHECK(r.env_target == "/etc/a.env");
  CHECK(reason_of([&] { parse_spec(json::parse(R"({"cp":[]})"), "/", env); }) == "bad_spec");
  CHECK(reason_of([&] { parse_spec(json::parse(R"([])"), "/", env); }) == "bad_spec");
  CHECK(reason_of([&] {
          parse_spec(json::parse(R"({"copy":[{"src":"a","dest":"/x","mode":755}]})"), "/", env);
        }) == "bad_mode");
  CHECK(reason_of([&] {
          parse_spec(json::parse(R"({"copy":[{"src":"a","dest":"/x","uid":1}]})"), "/", env);
        }) == "bad_owner");
  CHECK(reason_of([&] { parse_spec(json::parse(R"({"version":2})"), "/", env); }) == "bad_spec");
  CHECK(reason_of([&] {
          parse_spec(json::parse(R"({"mkdir":[{"path":"/a/../b"}]})"), "/", env);
        }) == "dotdot");
}

TEST_CASE("inject: merge_env replaces, keeps, appends", "[inject]") {
  const std::string old = "# comment\nPATH=/bin\nexport SESSION_ID=old\nSESSION_ID=dup\nLANG=C";
  auto merged = merge_env(old, {{"SESSION_ID", "new"}, {"TOKEN", "t"}, {"TOKEN", "t2"}});
  CHECK(merged == "# comment\nPATH=/bin\nSESSION_ID=new\nLANG=C\nTOKEN=t2\n");
  CHECK(merge_env(merged, {{"SESSION_ID", "new"}, {"TOKEN", "t2"}}) == merged);  // idempotent
  CHECK(merge_env("", {{"A", "1"}}) == "A=1\n");
  CHECK(env_keys({{"B", "1"}, {"A", "2"}, {"B", "3"}}) == std::vector<std::string>{"A", "B"});
}

TEST_CASE("inject: units: [Install] to enablement symlinks", "[inject]") {
  auto u = parse_unit(
      "[Service]\nExecStart=/x\nEnvironmentFile=-/etc/environment\n"
      "[Install]\nWantedBy=multi-user.target \\\n  graphical.target\nRequiredBy=b.target\n"
      "Alias=agent.service\nAlso=helper.socket\n",
      "a.service");
  CHECK(u.wanted_by == std::vector<std::string>{"multi-user.target", "graphical.target"});
  CHECK(u.environment_files == std::vector<std::string>{"/etc/environment"});
  std::vector<std::string> warnings;
  auto links = enable_links("vm-agent.service", u, warnings);
  REQUIRE(links.size() == 4);
  CHECK(links[0].link == "/etc/systemd/system/multi-user.target.wants/vm-agent.service");
  CHECK(links[0].target == "/etc/systemd/system/vm-agent.service");
  CHECK(links[0].enabled_in == "multi-user.target.wants");
  CHECK(links[2].enabled_in == "b.target.requires");
  CHECK(links[3].link == "/etc/systemd/system/agent.service");
  CHECK(warnings.size() == 1);  // Also=
  CHECK(reason_of([] { parse_unit("[Install]\nWantedBy=../../x\n", "u"); }) == "bad_unit");
  CHECK(valid_unit_name("a@.service"));
  CHECK_FALSE(valid_unit_name("a/b.service"));
  CHECK_FALSE(valid_unit_name("noext"));
  // A template is enabled as its DefaultInstance.
  auto t = parse_unit("[Install]\nWantedBy=x.target\nDefaultInstance=one\n", "t");
  warnings.clear();
  CHECK(enable_links("t@.service", t, warnings).at(0).link ==
        "/etc/systemd/system/x.target.wants/t@one.service");
  // An instance is one name: no way out of *.wants/.
  for (const char* bad : {"../../x", "a/b", "..", ".", "x@y", "sp ace"})
    CHECK(reason_of([&] {
            parse_unit(std::string("[Install]\nWantedBy=x.target\nDefaultInstance=") + bad + "\n",
                       "t");
          }) == "bad_unit");
}

TEST_CASE("inject: sha256", "[inject]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
