#include <catch2/catch.hpp>

#include "inspect/systemd.hpp"

using namespace vmu::inspect;

TEST_CASE("systemd: unit files, drop-ins, resets and continuations", "[inspect]") {
  UnitConfig c;
  c.add_file(
      "# comment\n[Unit]\nAfter=a.target \\\n  network-online.target\n[Service]\n"
      "ExecStart=/bin/old\nUser=one\n; other comment\nEnvironment=A=1\n",
      "/etc/systemd/system/x.service");
  c.add_file("[Service]\nExecStart=\nExecStart=-/bin/new arg\nUser=two\nEnvironment=B=2\n",
             "/etc/systemd/system/x.service.d/o.conf");
  auto starts = c.all("Service", "ExecStart");
  REQUIRE(starts.size() == 1);
  CHECK(starts[0]->value == "-/bin/new arg");
  CHECK(starts[0]->file == "/etc/systemd/system/x.service.d/o.conf");
  CHECK(starts[0]->line == 3);
  REQUIRE(c.last("Service", "User"));
  CHECK(c.last("Service", "User")->value == "two");
  CHECK(c.words("Unit", "After") == std::vector<std::string>{"a.target", "network-online.target"});
  CHECK(c.all("Service", "Environment").size() == 2);
  CHECK_FALSE(c.last("Service", "Group"));
}

TEST_CASE("systemd: Exec lines with prefixes and quotes", "[inspect]") {
  auto a = parse_exec("-@/usr/bin/node \"server name\" --port 8080");
  REQUIRE(a);
  CHECK(a->prefixes == "-@");
  CHECK(a->ignore_failure());
  CHECK(a->path == "/usr/bin/node");
  CHECK(a->args == std::vector<std::string>{"server name", "--port", "8080"});
  auto b = parse_exec("+!!:/bin/x");
  REQUIRE(b);
  CHECK(b->prefixes == "+!!:");
  CHECK(b->path == "/bin/x");
  CHECK_FALSE(parse_exec("  "));
}

TEST_CASE("systemd: Environment= keys and environment files", "[inspect]") {
  CHECK(environment_keys("\"A=1 2\" B=3 'C=x' junk 1X=2") ==
        std::vector<std::string>{"A", "B", "C"});
  auto lines = parse_env_file(
      "# c\n; c\nA=1\n B = 2 \nMULTI=\"line one\nline two\"\nexport E=5\nNOEQ\nC=a\\\nb\n"
      "9BAD=1\n");
  std::vector<std::string> keys, bad;
  for (const auto& l : lines) (l.valid ? keys : bad).push_back(l.key);
  CHECK(keys == std::vector<std::string>{"A", "B", "MULTI", "C"});
  CHECK(bad == std::vector<std::string>{"E", "9BAD"});
  CHECK(lines[2].line == 5);  // MULTI
  CHECK(lines[3].line == 7);  // export E, after the two-line value
  CHECK(valid_env_name("_A1"));
  CHECK_FALSE(valid_env_name("A-B"));
}

TEST_CASE("systemd: passwd and group", "[inspect]") {
  auto p = parse_passwd(
      "root:x:0:0:root:/root:/bin/bash\n#x\nbad line\nagent:x:1000:1001::/opt:/bin/sh\n");
  REQUIRE(p.size() == 2);
  CHECK(p[1].name == "agent");
  CHECK(p[1].uid == 1000);
  CHECK(p[1].gid == 1001);
  CHECK(p[1].home == "/opt");
  auto g = parse_group("root:x:0:\nweb:x:33:agent, other\nbroken\n");
  REQUIRE(g.size() == 2);
  CHECK(g[1].members == std::vector<std::string>{"agent", "other"});
}
