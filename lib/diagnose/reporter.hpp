// The guest reporter's console blocks (agent-inject --reporter installs the
// script that writes them; lib/inject/reporter/ has it). The console is
// shared with the kernel and systemd, whose lines can cut into ours, so
// every line is framed on its own and a block is taken only when complete:
//
//   vmu-report:SEQ:N:LEN:TEXT
//
// SEQ numbers the block, N the line in it (0 = "begin ..."), LEN is TEXT's
// length in bytes. The last line is "end COUNT" with COUNT the number of
// lines including begin and end. A block is complete when lines 0..COUNT-1
// of one SEQ arrived in order with the right lengths. The frame may start
// anywhere in a console line (glued after a login prompt). TEXT lines:
//
//   begin v=1 port=P uptime=SECONDS units=A,B
//   listen HEXADDR:HEXPORT        a LISTEN socket of /proc/net/tcp{,6}, raw
//   if NAME OPERSTATE CARRIER MAC /sys/class/net/NAME (carrier "-" if unknown)
//   local A.B.C.D                 a local IPv4 address (/proc/net/fib_trie)
//   route IFACE HEXDEST HEXMASK   /proc/net/route, raw
//   networkd NAME ADMIN OPER      /run/systemd/netif/links/<ifindex>
//   unit NAME KEY=VALUE           systemctl show -p ... NAME, one property a line
//   failed NAME                   a unit in the failed state
//   end COUNT
//
// Addresses stay raw in the block (the script is tiny POSIX sh); they are
// decoded here, for a little-endian guest (x86-64, aarch64).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmu::diagnose {

inline constexpr std::string_view kReportPrefix = "vmu-report:";
inline constexpr int kReportVersion = 1;

struct Listener {
  std::string addr;  // "127.0.0.1", "0.0.0.0", "::", "::1", "10.0.0.2"
  int port = 0;
  bool v6 = false;
  bool loopback() const;
  bool any() const;         // 0.0.0.0 or ::
  std::string str() const;  // "127.0.0.1:8080", "[::1]:8080"
};

struct Iface {
  std::string name;
  std::string operstate;  // up, down, unknown, dormant, ...
  std::string carrier;    // "1", "0", "-"
  std::string mac;
  std::vector<std::string> addrs;             // "10.0.0.2/24"
  std::string networkd_admin, networkd_oper;  // configured/configuring/failed, routable/...
};

struct UnitReport {
  std::string name;
  std::map<std::string, std::string> props;  // LoadState, ActiveState, SubState, Result, ...
  std::string get(const std::string& key) const;
};

struct Report {
  std::uint64_t seq = 0;
  double uptime = 0;  // guest seconds
  int port = 0;
  std::vector<Listener> listeners;
  std::vector<Iface> ifaces;  // without lo
  std::vector<UnitReport> units;
  std::vector<std::string> failed;

  // Sockets listening on `port` (any address).
  std::vector<Listener> listening_on(int port) const;
  const UnitReport* unit(std::string_view name) const;
  // One line: "listening: 0.0.0.0:22, 127.0.0.1:8080; eth0 up 10.0.0.2/24;
  // vm-agent.service active/running".
  std::string summary() const;
  nlohmann::json to_json() const;
};

// Decoders for the raw /proc fields (exposed for tests).
std::optional<Listener> decode_listen(std::string_view hex_addr_port);
std::optional<std::uint32_t> decode_hex_ipv4(std::string_view hex);  // host-order value

class ReporterParser {
 public:
  // Feeds one clean console line. Returns a block when this line completed one.
  std::optional<Report> line(std::string_view text);
  std::uint64_t complete() const { return complete_; }
  std::uint64_t broken() const { return broken_; }  // blocks seen in part only

 private:
  void drop();
  bool active_ = false;
  bool bad_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t next_ = 0;
  std::vector<std::string> lines_;
  std::uint64_t complete_ = 0;
  std::uint64_t broken_ = 0;
};

// Builds a Report from the TEXT lines of one block (begin..end excluded).
Report build_report(std::uint64_t seq, std::string_view begin,
                    const std::vector<std::string>& body);

}  // namespace vmu::diagnose
