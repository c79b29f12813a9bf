// The VM description every backend boots (kernel, initrd, boot arguments,
// vCPUs, memory, the rootfs, the NIC), and the host facts that shape it:
// the accelerator and, under TCG, the host's TSC frequency.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "record/record.hpp"

namespace vmu::vmm {

namespace fs = std::filesystem;

enum class Backend { firecracker, qemu };
enum class Accel { kvm, tcg };
enum class AccelChoice { auto_, kvm, tcg };
enum class NetConfig { dhcp, kernel };

std::string_view to_string(Backend b);
std::string_view to_string(Accel a);
std::string_view to_string(NetConfig n);
// Parse the CLI words; Exit::usage quoting the word otherwise.
Backend parse_backend(std::string_view s);
AccelChoice parse_accel(std::string_view s);
NetConfig parse_net_config(std::string_view s);

// The VM's network interface, from the record's `net` section.
struct Nic {
  std::string tap;
  std::string mac;
  std::string ip;       // guest address (for --net-config kernel)
  std::string gateway;  // may be empty
  int prefix = 24;
};

// What is booted.
struct VmSpec {
  std::string id;
  fs::path kernel;
  std::optional<fs::path> initrd;
  fs::path rootfs;
  std::optional<Nic> nic;
  unsigned vcpus = 1;
  unsigned mem_mib = 512;
  std::string boot_args;  // final, as the kernel gets it (before the VMM's own additions)
};

// Reads rootfs.path and net.{tap,mac,ip,gateway,prefix} from a record.
// A record without `rootfs.path` is bad input (Exit::usage, "no_rootfs").
// `net` without a `tap` (vmnet-alloc --no-tap) gives no NIC.
void fill_from_record(VmSpec& spec, const Record& rec);

// How the default boot arguments are built.
struct BootArgOptions {
  Backend backend = Backend::firecracker;
  Accel accel = Accel::kvm;
  NetConfig net = NetConfig::dhcp;
  bool journal_console = true;           // systemd.journald.forward_to_console=1 ...
  std::string journal_level = "info";    // ... max_level_console=<this>
  std::optional<std::uint64_t> tsc_khz;  // tsc_early_khz= (used under TCG only)
};

// The default kernel command line for a backend:
//   firecracker: console=ttyS0 reboot=k panic=1 pci=off
//   qemu:        console=ttyS0 reboot=t panic=1 root=/dev/vda rw
// + tsc_early_khz=N under TCG (when known), + ip=... for NetConfig::kernel
// (needs `nic` with an ip), + the journal forwarding when asked for.
std::string default_boot_args(const BootArgOptions& o, const std::optional<Nic>& nic);

// "ip=<ip>::<gw>:<mask>::eth0:off" for a NIC (needs CONFIG_IP_PNP in the
// guest kernel, which Debian's lacks). Throws Exit::usage when the NIC has
// no valid address or prefix.
std::string kernel_ip_arg(const Nic& nic);

// The host TSC frequency in kHz, from the first source that has it: the
// text of /sys/devices/system/cpu/cpu0/tsc_freq_khz, the kernel log
// ("tsc: Refined TSC clocksource calibration: N MHz" or "tsc: Detected N
// MHz"), or /proc/cpuinfo ("cpu MHz"). Pure: the texts are given.
std::optional<std::uint64_t> parse_tsc_khz(std::string_view sysfs, std::string_view kernel_log,
                                           std::string_view cpuinfo);
// Same, read from this host (the kernel log through syslog(2), when allowed).
std::optional<std::uint64_t> host_tsc_khz();

// True when /proc/cpuinfo's flags list vmx or svm.
bool cpu_has_hw_virt(std::string_view cpuinfo);
// auto: KVM only when /dev/kvm opens read-write AND the CPU reports
// hardware virtualization; TCG otherwise. kvm/tcg: as asked.
Accel choose_accel(AccelChoice choice, bool kvm_opens, std::string_view cpuinfo);
// Same, probing this host.
Accel choose_accel(AccelChoice choice);
bool kvm_opens();

}  // namespace vmu::vmm
