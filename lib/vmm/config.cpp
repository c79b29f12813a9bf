#include "vmm/config.hpp"

#include <fcntl.h>
#include <sys/klog.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include "net/addr.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace vmu::vmm {

std::string_view to_string(Backend b) {
  return b == Backend::firecracker ? "firecracker" : "qemu";
}
std::string_view to_string(Accel a) {
  return a == Accel::kvm ? "kvm" : "tcg";
}
std::string_view to_string(NetConfig n) {
  return n == NetConfig::dhcp ? "dhcp" : "kernel";
}

Backend parse_backend(std::string_view s) {
  if (s == "firecracker") return Backend::firecracker;
  if (s == "qemu") return Backend::qemu;
  throw Error(Exit::usage, fmt::format("--vmm '{}': expected firecracker or qemu", s));
}
AccelChoice parse_accel(std::string_view s) {
  if (s == "auto") return AccelChoice::auto_;
  if (s == "kvm") return AccelChoice::kvm;
  if (s == "tcg") return AccelChoice::tcg;
  throw Error(Exit::usage, fmt::format("--accel '{}': expected auto, kvm or tcg", s));
}
NetConfig parse_net_config(std::string_view s) {
  if (s == "dhcp") return NetConfig::dhcp;
  if (s == "kernel") return NetConfig::kernel;
  throw Error(Exit::usage, fmt::format("--net-config '{}': expected dhcp or kernel", s));
}

namespace {

[[noreturn]] void bad_net(const Record& rec, const std::string& what) {
  throw Error(Exit::usage, "bad_record", fmt::format("record '{}': net.{}", rec.id(), what));
}

// A TAP name as it reaches the VMM's command line or API: 1 to 15 bytes of
// letters, digits, '_', '.', '-' (what vmnet-alloc makes), never an option
// separator or a kernel '%d' pattern.
bool plain_ifname(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

// A unicast MAC in the colon form, "06:00:c0:a8:64:06".
bool unicast_mac(std::string_view s) {
  if (s.size() != 17) return false;
  for (std::size_t i = 0; i < 17; ++i) {
    const char c = s[i];
    if (i % 3 == 2 ? c != ':' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return (std::stoi(std::string(s.substr(0, 2)), nullptr, 16) & 1) == 0;
}

}  // namespace

void fill_from_record(VmSpec& spec, const Record& rec) {
  spec.id = rec.id();
  const Json& rootfs = rec.get("rootfs");
  if (!rootfs.is_object() || !rootfs.contains("path") || !rootfs["path"].is_string() ||
      rootfs["path"].get<std::string>().empty())
    throw Error(
        Exit::usage, "no_rootfs",
        fmt::format("record '{}' has no rootfs.path: run rootfs-clone before fc-launch", rec.id()));
  spec.rootfs = rootfs["path"].get<std::string>();
  // The net section's every value is checked before it reaches QEMU's
  // argv or Firecracker's API: a record is data from elsewhere.
  const Json& net = rec.get("net");
  spec.nic.reset();
  if (!net.is_object())
    throw Error(Exit::usage, "bad_record",
                fmt::format("record '{}': the net section is not an object", rec.id()));
  auto str = [&](const char* k) -> std::string {
    auto it = net.find(k);
    if (it == net.end() || it->is_null()) return {};
    if (!it->is_string()) bad_net(rec, fmt::format("{} is not a string", k));
    return it->get<std::string>();
  };
  Nic n;
  n.tap = str("tap");
  if (n.tap.empty()) return;  // vmnet-alloc --no-tap: no NIC
  if (!plain_ifname(n.tap))
    bad_net(rec,
            fmt::format("tap '{}' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)", n.tap));
  n.mac = str("mac");
  if (!n.mac.empty() && !unicast_mac(n.mac))
    bad_net(rec, fmt::format("mac '{}' is not a unicast MAC address (xx:xx:xx:xx:xx:xx)", n.mac));
  n.ip = str("ip");
  if (!n.ip.empty() && !Ipv4::parse(n.ip))
    bad_net(rec, fmt::format("ip '{}' is not an IPv4 address", n.ip));
  n.gateway = str("gateway");
  if (!n.gateway.empty() && !Ipv4::parse(n.gateway))
    bad_net(rec, fmt::format("gateway '{}' is not an IPv4 address", n.gateway));
  if (auto it = net.find("prefix"); it != net.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 32)
      bad_net(rec, fmt::format("prefix {} is not a number from 1 to 32", it->dump()));
    n.prefix = it->get<int>();
  }
  spec.nic = std::move(n);
}

std::string kernel_ip_arg(const Nic& nic) {
  auto ip = Ipv4::parse(nic.ip);
  if (!ip)
    throw Error(Exit::usage, "bad_record",
                fmt::format("--net-config kernel needs the record's net.ip; got '{}'", nic.ip));
  if (nic.prefix < 1 || nic.prefix > 32)
    throw Error(Exit::usage, "bad_record",
                fmt::format("--net-config kernel: net.prefix {} is not 1..32", nic.prefix));
  std::string gw;
  if (!nic.gateway.empty()) {
    auto g = Ipv4::parse(nic.gateway);
    if (!g)
      throw Error(
          Exit::usage, "bad_record",
          fmt::format("--net-config kernel: net.gateway '{}' is not an IPv4 address", nic.gateway));
    gw = g->str();
  }
  const std::uint32_t mask = nic.prefix == 32 ? 0xffffffffu : ~((1u << (32 - nic.prefix)) - 1u);
  return fmt::format("ip={}::{}:{}::eth0:off", ip->str(), gw, Ipv4{mask}.str());
}

std::string default_boot_args(const BootArgOptions& o, const std::optional<Nic>& nic) {
  std::vector<std::string> a;
  if (o.backend == Backend::firecracker) {
    // Firecracker appends root=/dev/vda rw and the virtio_mmio devices itself.
    a = {"console=ttyS0", "reboot=k", "panic=1", "pci=off"};
  } else {
    // microvm ignores the i8042 reset: reboot=t (triple fault) with QEMU's
    // -no-reboot makes a guest reboot or panic end the process.
    a = {"console=ttyS0", "reboot=t", "panic=1", "root=/dev/vda", "rw"};
    if (o.accel == Accel::tcg && o.tsc_khz)
      a.push_back(fmt::format("tsc_early_khz={}", *o.tsc_khz));
  }
  if (o.net == NetConfig::kernel) {
    if (!nic)
      throw Error(Exit::usage, "bad_record",
                  "--net-config kernel needs a record with a network interface (net.tap, net.ip)");
    a.push_back(kernel_ip_arg(*nic));
  }
  if (o.journal_console) {
    a.emplace_back("systemd.journald.forward_to_console=1");
    a.push_back(fmt::format("systemd.journald.max_level_console={}", o.journal_level));
  }
  std::string out;
  for (const auto& s : a) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

namespace {

// "2096.025" MHz -> 2096025 kHz.
std::optional<std::uint64_t> mhz_to_khz(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ':')) ++i;
  std::size_t j = i;
  while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
  if (j == i) return std::nullopt;
  const std::string num(s.substr(i, j - i));
  char* end = nullptr;
  const double mhz = std::strtod(num.c_str(), &end);
  if (end == num.c_str() || !(mhz > 1.0) || mhz > 1e6) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(mhz * 1000.0));
}

// The number after the last occurrence of `key` in `text`.
std::optional<std::uint64_t> last_after(std::string_view text, std::string_view key) {
  auto pos = text.rfind(key);
  if (pos == std::string_view::npos) return std::nullopt;
  return mhz_to_khz(text.substr(pos + key.size()));
}

}  // namespace

std::optional<std::uint64_t> parse_tsc_khz(std::string_view sysfs, std::string_view kernel_log,
                                           std::string_view cpuinfo) {
  {
    std::size_t i = 0;
    while (i < sysfs.size() && (sysfs[i] == ' ' || sysfs[i] == '\n')) ++i;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(sysfs.data() + i, sysfs.data() + sysfs.size(), v);
    if (ec == std::errc() && p != sysfs.data() + i && v > 0) return v;
  }
  // The refined calibration is more precise than the early detection.
  if (auto v = last_after(kernel_log, "tsc: Refined TSC clocksource calibration:")) return v;
  if (auto v = last_after(kernel_log, "tsc: Detected ")) return v;
  // /proc/cpuinfo: "cpu MHz\t\t: 2096.025" (the first CPU's).
  auto pos = cpuinfo.find("cpu MHz");
  if (pos != std::string_view::npos) {
    auto line = cpuinfo.substr(pos + 7);
    line = line.substr(0, line.find('\n'));
    if (auto v = mhz_to_khz(line)) return v;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> host_tsc_khz() {
  std::string sysfs, klog, cpuinfo;
  try {
    sysfs = read_file_if_exists("/sys/devices/system/cpu/cpu0/tsc_freq_khz", 4096).value_or("");
  } catch (const std::exception&) {
  }
  if (sysfs.empty()) {
    const int size = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
    if (size > 0) {
      klog.resize(static_cast<std::size_t>(size));
      const int n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog.data(), size);
      klog.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
  }
  try {
    cpuinfo = read_file_if_exists("/proc/cpuinfo", 4u << 20).value_or("");
  } catch (const std::exception&) {
  }
  return parse_tsc_khz(sysfs, klog, cpuinfo);
}

bool cpu_has_hw_virt(std::string_view cpuinfo) {
  std::size_t pos = 0;
  while ((pos = cpuinfo.find("flags", pos)) != std::string_view::npos) {
    // Only lines that start with "flags".
    if (pos != 0 && cpuinfo[pos - 1] != '\n') {
      pos += 5;
      continue;
    }
    auto end = cpuinfo.find('\n', pos);
    auto line = cpuinfo.substr(pos, end == std::string_view::npos ? end : end - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      line.remove_prefix(colon + 1);
      std::size_t i = 0;
      while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        auto word = line.substr(i, j - i);
        if (word == "vmx" || word == "svm") return true;
        i = j;
      }
    }
    if (end == std::string_view::npos) break;
    pos = end;
  }
  return false;
}

Accel choose_accel(AccelChoice choice, bool kvm_opens_rw, std::string_view cpuinfo) {
  switch (choice) {
    case AccelChoice::kvm:
      return Accel::kvm;
    case AccelChoice::tcg:
      return Accel::tcg;
    case AccelChoice::auto_:
      break;
  }
  return kvm_opens_rw && cpu_has_hw_virt(cpuinfo) ? Accel::kvm : Accel::tcg;
}

bool kvm_opens() {
  Fd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  return static_cast<bool>(fd);
}

Accel choose_accel(AccelChoice choice) {
  if (choice != AccelChoice::auto_) return choose_accel(choice, false, "");
  std::string cpuinfo;
  try {
    cpuinfo = read_file_if_exists("/proc/cpuinfo", 4u << 20).value_or("");
  } catch (const std::exception&) {
  }
  return choose_accel(choice, kvm_opens(), cpuinfo);
}

}  // namespace vmu::vmm
