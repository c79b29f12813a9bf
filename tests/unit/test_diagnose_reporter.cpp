#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "diagnose/reporter.hpp"

using namespace vmu::diagnose;

namespace {

// Frames body lines as the reporter script does.
std::vector<std::string> frame(std::uint64_t seq, const std::vector<std::string>& body) {
  std::vector<std::string> text = {"begin v=1 port=8080 uptime=12.34 units=vm-agent.service"};
  text.insert(text.end(), body.begin(), body.end());
  text.push_back("end " + std::to_string(text.size() + 1));
  std::vector<std::string> out;
  for (std::size_t n = 0; n < text.size(); ++n)
    out.push_back("vmu-report:" + std::to_string(seq) + ":" + std::to_string(n) + ":" +
                  std::to_string(text[n].size()) + ":" + text[n]);
  return out;
}

const std::vector<std::string> kBody = {
    "listen 0100007F:1F90",                          // 127.0.0.1:8080
    "listen 00000000:0016",                          // 0.0.0.0:22
    "listen 00000000000000000000000001000000:1F91",  // [::1]:8081
    "listen 00000000000000000000000000000000:0050",  // [::]:80
    "if lo unknown 1 00:00:00:00:00:00",
    "if eth0 up 1 06:00:0a:54:00:02",
    "local 127.0.0.1",
    "local 10.84.0.2",
    "local 10.84.0.2",
    "route eth0 0000540A 00FFFFFF",
    "route eth0 00000000 00000000",
    "networkd eth0 configured routable",
    "unit vm-agent.service Id=vm-agent.service",
    "unit vm-agent.service LoadState=loaded",
    "unit vm-agent.service ActiveState=active",
    "unit vm-agent.service SubState=running",
    "unit vm-agent.service Result=success",
    "unit vm-agent.service NRestarts=0",
    "unit vm-agent.service UnitFileState=enabled",
    "failed systemd-networkd-wait-online.service",
};

std::optional<Report> feed(ReporterParser& p, const std::vector<std::string>& lines) {
  std::optional<Report> last;
  for (const auto& l : lines)
    if (auto r = p.line(l)) last = r;
  return last;
}

}  // namespace

TEST_CASE("reporter: a complete block is decoded") {
  ReporterParser p;
  auto r = feed(p, frame(7, kBody));
  REQUIRE(r);
  CHECK(p.complete() == 1);
  CHECK(r->seq == 7);
  CHECK(r->port == 8080);
  CHECK(r->uptime == Approx(12.34));
  REQUIRE(r->listeners.size() == 4);
  CHECK(r->listeners[0].str() == "127.0.0.1:8080");
  CHECK(r->listeners[0].loopback());
  CHECK(r->listeners[1].str() == "0.0.0.0:22");
  CHECK(r->listeners[1].any());
  CHECK(r->listeners[2].str() == "[::1]:8081");
  CHECK(r->listeners[2].loopback());
  CHECK(r->listeners[3].str() == "[::]:80");
  CHECK(r->listeners[3].any());
  REQUIRE(r->ifaces.size() == 1);  // lo left out
  CHECK(r->ifaces[0].name == "eth0");
  CHECK(r->ifaces[0].operstate == "up");
  CHECK(r->ifaces[0].addrs == std::vector<std::string>{"10.84.0.2/24"});
  CHECK(r->ifaces[0].networkd_admin == "configured");
  REQUIRE(r->unit("vm-agent.service"));
  CHECK(r->unit("vm-agent.service")->get("SubState") == "running");
  CHECK(r->failed == std::vector<std::string>{"systemd-networkd-wait-online.service"});
  CHECK(r->listening_on(8080).size() == 1);
  CHECK(r->summary().find("listening: 127.0.0.1:8080") != std::string::npos);
  CHECK(r->summary().find("eth0 up 10.84.0.2/24") != std::string::npos);
}

TEST_CASE("reporter: glued after a login prompt, still found") {
  ReporterParser p;
  auto lines = frame(1, {"if eth0 up 1 x"});
  lines[0] = "vmguest login: " + lines[0];
  CHECK(feed(p, lines));
}

TEST_CASE("reporter: a kernel line interleaved between framed lines does no harm") {
  ReporterParser p;
  auto lines = frame(2, kBody);
  std::vector<std::string> mixed;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    mixed.push_back(lines[i]);
    if (i % 3 == 0) mixed.push_back("[   30.1] random: crng init done");  // not ours: ignored
  }
  auto r = feed(p, mixed);
  REQUIRE(r);
  CHECK(r->listeners.size() == 4);
}

TEST_CASE("reporter: a line cut by a kernel message breaks only its block") {
  ReporterParser p;
  auto lines = frame(3, kBody);
  // A kernel line cut into line 5: what remains of it has the wrong length.
  lines[5] = lines[5].substr(0, 20);
  CHECK_FALSE(feed(p, lines));
  CHECK(p.broken() == 1);
  // The next block is taken.
  CHECK(feed(p, frame(4, kBody)));
  CHECK(p.complete() == 1);
}

TEST_CASE("reporter: truncated blocks (no end, missing line, new begin) are dropped") {
  ReporterParser p;
  auto lines = frame(5, kBody);
  lines.pop_back();  // no end line
  CHECK_FALSE(feed(p, lines));
  auto missing = frame(6, kBody);
  missing.erase(missing.begin() + 4);
  CHECK_FALSE(feed(p, missing));
  auto wrong_count = frame(8, kBody);
  wrong_count.back() = "vmu-report:8:" + std::to_string(kBody.size() + 1) + ":5:end 3";
  CHECK_FALSE(feed(p, wrong_count));
  CHECK(p.complete() == 0);
  CHECK(p.broken() >= 3);
}

TEST_CASE("reporter: garbage after the prefix is ignored") {
  ReporterParser p;
  for (const char* g : {"vmu-report:", "vmu-report:x:y:z:", "vmu-report:1:0:999:begin",
                        "vmu-report:1:2", "vmu-report:-1:0:5:begin", "vmu-report:1:0:5:hello"})
    CHECK_FALSE(p.line(g));
  CHECK(p.complete() == 0);
}

TEST_CASE("reporter: raw /proc addresses decode for a little-endian guest") {
  CHECK(decode_listen("0100007F:1F90")->str() == "127.0.0.1:8080");
  CHECK(decode_listen("0254A80A:0050")->str() == "10.168.84.2:80");
  CHECK(decode_listen("0000000000000000FFFF00000100007F:1F90")->str() == "[::ffff:127.0.0.1]:8080");
  CHECK(decode_listen("0000000000000000FFFF00000100007F:1F90")->loopback());
  CHECK_FALSE(decode_listen("zz"));
  CHECK_FALSE(decode_listen("0100007F:XYZ"));
  CHECK_FALSE(decode_listen("01007F:1F90"));
  CHECK(*decode_hex_ipv4("00FFFFFF") == 0xFFFFFF00u);
}

TEST_CASE("reporter: an interface without an address") {
  ReporterParser p;
  auto r = feed(p, frame(9, {"if eth0 up 1 06:00:0a:00:00:02", "local 127.0.0.1",
                             "networkd eth0 configuring degraded"}));
  REQUIRE(r);
  REQUIRE(r->ifaces.size() == 1);
  CHECK(r->ifaces[0].addrs.empty());
  CHECK(r->summary().find("eth0 up no IPv4 address (networkd: configuring)") != std::string::npos);
}
