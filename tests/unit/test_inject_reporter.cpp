#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "diagnose/lines.hpp"
#include "diagnose/reporter.hpp"
#include "helpers.hpp"
#include "inject/reporter.hpp"
#include "util/fs.hpp"

using namespace vmu;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& text,
         fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  fs::permissions(p, mode);
}

// A guest's /proc, /sys and /run as files, and a fake systemctl.
void make_guest(const fs::path& root, const fs::path& bin) {
  put(root / "proc/net/tcp",
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "1\n"
      "   1: 0254A80A:0016 0154A80A:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
      "2\n");
  put(root / "proc/net/tcp6",
      "  sl  local_address                         remote_address                        st\n"
      "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0\n");
  put(root / "proc/net/fib_trie",
      "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n"
      "     +-- 10.84.0.0/24 2 0 2\n        |-- 10.84.0.2\n           /32 host LOCAL\n"
      "     |-- 127.0.0.1\n        /32 host LOCAL\nLocal:\n  |-- 10.84.0.2\n     /32 host LOCAL\n");
  put(root / "proc/net/route",
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t0154A80A\t0003\t0\t0\t1024\t00000000\t0\t0\t0\n"
      "eth0\t0000540A\t00000000\t0001\t0\t0\t1024\t00FFFFFF\t0\t0\t0\n");
  put(root / "proc/uptime", "12.34 10.00\n");
  put(root / "sys/class/net/eth0/operstate", "up\n");
  put(root / "sys/class/net/eth0/carrier", "1\n");
  put(root / "sys/class/net/eth0/address", "06:00:0a:54:00:02\n");
  put(root / "sys/class/net/eth0/ifindex", "2\n");
  put(root / "sys/class/net/lo/operstate", "unknown\n");
  put(root / "run/systemd/netif/links/2", "ADMIN_STATE=configured\nOPER_STATE=routable\n");
  put(bin / "systemctl",
      "#!/bin/sh\n"
      "case \"$1\" in\n"
      "show) shift; while [ $# -gt 0 ]; do case \"$1\" in -p) shift;; --) ;; *)\n"
      "  [ -n \"$sep\" ] && echo; sep=1\n"
      "  echo Result=exit-code; echo NRestarts=2; echo Id=$1; echo LoadState=loaded\n"
      "  echo ActiveState=failed; echo SubState=failed; echo UnitFileState=enabled;;\n"
      "  esac; shift; done;;\n"
      "list-units) echo '\xE2\x97\x8F vm-agent.service loaded failed failed vmutils example "
      "agent';\n"
      "  echo 'other.service loaded failed failed Other';;\n"
      "esac\n",
      fs::perms::owner_all);
}

// Runs the embedded script once under `shell`; returns what it wrote.
std::string run_script(const std::string& shell, const fs::path& dir) {
  const fs::path script = dir / "reporter.sh", out = dir / "console";
  put(script, std::string(inject::reporter_script()));
  const std::string path = "PATH=" + (dir / "bin").string() + ":/usr/bin:/bin";
  const std::string root = "VMU_REPORT_ROOT=" + (dir / "guest").string();
  const std::string outv = "VMU_REPORT_OUT=" + out.string();
  std::vector<std::string> env = {path,
                                  root,
                                  outv,
                                  "VMU_REPORT_ONCE=1",
                                  "VMU_REPORT_PORT=8080",
                                  "VMU_REPORT_UNITS=vm-agent.service other.service"};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = shell, sc = script.string();
  std::vector<char*> argv;
  std::string busybox_sh = "sh";
  if (shell.find("busybox") != std::string::npos) {
    argv = {sh.data(), busybox_sh.data(), sc.data(), nullptr};
  } else {
    argv = {sh.data(), sc.data(), nullptr};
  }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execve(sh.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return read_file(out);
}

std::optional<diagnose::Report> parse(const std::string& console) {
  diagnose::LineAssembler as;
  diagnose::ReporterParser p;
  std::optional<diagnose::Report> r;
  auto on = [&](std::string_view raw) {
    if (auto x = p.line(diagnose::clean_line(raw))) r = x;
  };
  as.feed(console, on);
  as.finish(on);
  return r;
}

}  // namespace

TEST_CASE("reporter script: one block from a guest's files, parsed by the host side") {
  for (const std::string shell : {"/bin/sh", "/bin/busybox"}) {
    if (!fs::exists(shell)) continue;
    INFO("shell " << shell);
    test::TempDir t;
    make_guest(t.path / "guest", t.path / "bin");
    const std::string console = run_script(shell, t.path);
    auto r = parse(console);
    REQUIRE(r);
    CHECK(r->seq == 1);
    CHECK(r->port == 8080);
    CHECK(r->uptime == Approx(12.34));
    REQUIRE(r->listeners.size() == 2);  // the ESTABLISHED socket is left out
    CHECK(r->listeners[0].str() == "127.0.0.1:8080");
    CHECK(r->listeners[1].str() == "[::]:22");
    REQUIRE(r->ifaces.size() == 1);
    CHECK(r->ifaces[0].name == "eth0");
    CHECK(r->ifaces[0].carrier == "1");
    CHECK(r->ifaces[0].addrs == std::vector<std::string>{"10.84.0.2/24"});
    CHECK(r->ifaces[0].networkd_admin == "configured");
    REQUIRE(r->unit("vm-agent.service"));
    REQUIRE(r->unit("other.service"));
    CHECK(r->unit("vm-agent.service")->get("ActiveState") == "failed");
    CHECK(r->unit("vm-agent.service")->get("Id") == "vm-agent.service");
    CHECK(r->unit("other.service")->get("Id") == "other.service");
    CHECK(r->unit("other.service")->get("NRestarts") == "2");
    CHECK(r->failed == std::vector<std::string>{"vm-agent.service", "other.service"});
  }
}

TEST_CASE("reporter unit: port, units and script filled in; agent.reporter section") {
  inject::ReporterSpec spec{9090, {"a.service", "b.service"}};
  const std::string unit = inject::reporter_unit(spec);
  CHECK(unit.find("Environment=VMU_REPORT_PORT=9090") != std::string::npos);
  CHECK(unit.find("Environment=\"VMU_REPORT_UNITS=a.service b.service\"") != std::string::npos);
  CHECK(unit.find("ExecStart=/bin/sh /usr/local/lib/vmutils/vmutils-reporter.sh") !=
        std::string::npos);
  CHECK(unit.find("@") == std::string::npos);
  CHECK(unit.find("WantedBy=multi-user.target") != std::string::npos);
  auto j = inject::reporter_json(spec);
  CHECK(j["unit"] == "vmutils-reporter.service");
  CHECK(j["port"] == 9090);
  CHECK(j["units"].size() == 2);
  CHECK(j["sha256"].get<std::string>().size() == 64);
  CHECK(inject::reporter_script().substr(0, 9) == "#!/bin/sh");
}
