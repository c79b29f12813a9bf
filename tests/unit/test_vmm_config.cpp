#include <catch2/catch.hpp>

#include "record/record.hpp"
#include "util/error.hpp"
#include "vmm/config.hpp"

using namespace vmu::vmm;

namespace {
const char* kCpuinfoVmx =
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2096.025\n"
    "flags\t\t: fpu vme de pse tsc msr vmx ssse3 hypervisor\n\n";
const char* kCpuinfoPlain =
    "processor\t: 0\ncpu MHz\t\t: 2096.025\n"
    "flags\t\t: fpu vme de pse tsc msr svmx ssse3 hypervisor\n"
    "vmx flags\t: vnmi\n\n";
const char* kCpuinfoSvm = "flags\t\t: fpu svm\n";
}  // namespace

TEST_CASE("accel auto: KVM only with /dev/kvm AND vmx/svm") {
  CHECK(cpu_has_hw_virt(kCpuinfoVmx));
  CHECK(cpu_has_hw_virt(kCpuinfoSvm));
  CHECK_FALSE(cpu_has_hw_virt(kCpuinfoPlain));  // "svmx" and a "vmx flags" line do not count
  CHECK_FALSE(cpu_has_hw_virt(""));
  CHECK(choose_accel(AccelChoice::auto_, true, kCpuinfoVmx) == Accel::kvm);
  CHECK(choose_accel(AccelChoice::auto_, false, kCpuinfoVmx) == Accel::tcg);
  // /dev/kvm present but no hardware virtualization (nested kvm_pvm): TCG
  CHECK(choose_accel(AccelChoice::auto_, true, kCpuinfoPlain) == Accel::tcg);
  CHECK(choose_accel(AccelChoice::kvm, false, "") == Accel::kvm);
  CHECK(choose_accel(AccelChoice::tcg, true, kCpuinfoVmx) == Accel::tcg);
}

TEST_CASE("TSC frequency: sysfs, else the kernel log, else cpuinfo") {
  const char* klog =
      "<6>[    0.000306] tsc: Detected 2096.025 MHz processor\n"
      "<6>[    1.2] tsc: Refined TSC clocksource calibration: 2095.998 MHz\n";
  CHECK(parse_tsc_khz("2100000\n", klog, kCpuinfoVmx) == 2100000u);
  CHECK(parse_tsc_khz("", klog, kCpuinfoVmx) == 2095998u);
  CHECK(parse_tsc_khz("", "[    0.000306] tsc: Detected 2096.025 MHz processor\n", "") == 2096025u);
  CHECK(parse_tsc_khz("", "", kCpuinfoVmx) == 2096025u);
  CHECK(parse_tsc_khz("garbage", "tsc: Detected x MHz", "cpu MHz : ") == std::nullopt);
  CHECK(parse_tsc_khz("", "", "") == std::nullopt);
}

TEST_CASE("default boot args per backend") {
  BootArgOptions o;
  o.journal_console = false;
  CHECK(default_boot_args(o, std::nullopt) == "console=ttyS0 reboot=k panic=1 pci=off");
  o.backend = Backend::qemu;
  o.accel = Accel::kvm;
  o.tsc_khz = 2096025;
  CHECK(default_boot_args(o, std::nullopt) == "console=ttyS0 reboot=t panic=1 root=/dev/vda rw");
  o.accel = Accel::tcg;
  CHECK(default_boot_args(o, std::nullopt) ==
        "console=ttyS0 reboot=t panic=1 root=/dev/vda rw tsc_early_khz=2096025");
  o.journal_console = true;
  o.journal_level = "notice";
  CHECK(default_boot_args(o, std::nullopt) ==
        "console=ttyS0 reboot=t panic=1 root=/dev/vda rw tsc_early_khz=2096025 "
        "systemd.journald.forward_to_console=1 systemd.journald.max_level_console=notice");
  // Firecracker is KVM: no tsc_early_khz even when known.
  o.backend = Backend::firecracker;
  o.journal_console = false;
  CHECK(default_boot_args(o, std::nullopt) == "console=ttyS0 reboot=k panic=1 pci=off");
}

TEST_CASE("net-config kernel: the ip= argument") {
  Nic n;
  n.tap = "vmtap6";
  n.ip = "192.168.100.6";
  n.gateway = "192.168.100.1";
  n.prefix = 24;
  CHECK(kernel_ip_arg(n) == "ip=192.168.100.6::192.168.100.1:255.255.255.0::eth0:off");
  n.prefix = 30;
  n.gateway.clear();
  CHECK(kernel_ip_arg(n) == "ip=192.168.100.6:::255.255.255.252::eth0:off");
  BootArgOptions o;
  o.net = NetConfig::kernel;
  o.journal_console = false;
  n.prefix = 24;
  n.gateway = "192.168.100.1";
  CHECK(default_boot_args(o, n) ==
        "console=ttyS0 reboot=k panic=1 pci=off "
        "ip=192.168.100.6::192.168.100.1:255.255.255.0::eth0:off");
  CHECK_THROWS_AS(default_boot_args(o, std::nullopt), vmu::Error);
  n.ip = "nope";
  CHECK_THROWS_AS(kernel_ip_arg(n), vmu::Error);
}

TEST_CASE("the VM description from a record") {
  auto rec = vmu::Record::parse(
      R"({"v":1,"id":"vm-1","net":{"ip":"10.0.0.6","prefix":24,"gateway":"10.0.0.1",)"
      R"("mac":"06:00:0a:00:00:06","tap":"vmtap6"},"rootfs":{"path":"/x/rootfs.ext4"}})");
  VmSpec s;
  fill_from_record(s, rec);
  CHECK(s.id == "vm-1");
  CHECK(s.rootfs == "/x/rootfs.ext4");
  REQUIRE(s.nic);
  CHECK(s.nic->tap == "vmtap6");
  CHECK(s.nic->mac == "06:00:0a:00:00:06");
  auto no_rootfs = vmu::Record::parse(R"({"v":1,"id":"vm-2","net":{"tap":"t"}})");
  try {
    fill_from_record(s, no_rootfs);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::usage);
    CHECK(e.reason() == "no_rootfs");
  }
  auto no_tap =
      vmu::Record::parse(R"({"v":1,"id":"vm-3","net":{"ip":"10.0.0.7"},"rootfs":{"path":"/r"}})");
  fill_from_record(s, no_tap);
  CHECK_FALSE(s.nic);
}

TEST_CASE("the net section is checked before it reaches a VMM") {
  auto refused = [](const std::string& net) {
    auto rec =
        vmu::Record::parse(R"({"v":1,"id":"vm-n","rootfs":{"path":"/r"},"net":)" + net + "}");
    VmSpec s;
    try {
      fill_from_record(s, rec);
    } catch (const vmu::Error& e) {
      CHECK(e.code() == vmu::Exit::usage);
      CHECK(e.reason() == "bad_record");
      return true;
    }
    return false;
  };
  CHECK_FALSE(refused(R"({"tap":"vmtap6","mac":"06:00:0a:00:00:06","ip":"10.0.0.6",)"
                      R"("prefix":24,"gateway":"10.0.0.1"})"));
  CHECK_FALSE(refused(R"({"tap":"vmtap6"})"));
  CHECK(refused(R"([1])"));
  CHECK(refused(R"({"tap":7})"));
  CHECK(refused(R"({"tap":"tp%d"})"));
  CHECK(refused(R"({"tap":"a,script=/bin/sh"})"));
  CHECK(refused(R"({"tap":"waytoolongforifnamsiz"})"));
  CHECK(refused(R"({"tap":"t","mac":"06:00:0a:00:00:06,romfile=/etc/shadow"})"));
  CHECK(refused(R"({"tap":"t","mac":"07:00:0a:00:00:06"})"));  // multicast
  CHECK(refused(R"({"tap":"t","mac":"zz:00:0a:00:00:06"})"));
  CHECK(refused(R"({"tap":"t","mac":["x"]})"));
  CHECK(refused(R"({"tap":"t","ip":"10.0.0.300"})"));
  CHECK(refused(R"({"tap":"t","gateway":"g"})"));
  CHECK(refused(R"({"tap":"t","prefix":33})"));
  CHECK(refused(R"({"tap":"t","prefix":0})"));
  CHECK(refused(R"({"tap":"t","prefix":"24"})"));
  CHECK(refused(R"({"tap":"t","prefix":1e3})"));
}

TEST_CASE("CLI words") {
  CHECK(parse_backend("qemu") == Backend::qemu);
  CHECK(parse_accel("auto") == AccelChoice::auto_);
  CHECK(parse_net_config("kernel") == NetConfig::kernel);
  CHECK_THROWS_AS(parse_backend("xen"), vmu::Error);
}
