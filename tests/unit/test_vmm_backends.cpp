#include <catch2/catch.hpp>

#include <algorithm>

#include "helpers.hpp"
#include "record/record.hpp"
#include "state/state.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "vmm/firecracker.hpp"
#include "vmm/launch.hpp"
#include "vmm/qemu.hpp"

using namespace vmu::vmm;

namespace {

VmSpec spec_with_nic() {
  VmSpec s;
  s.id = "vm-1";
  s.kernel = "/k/vmlinux";
  s.initrd = "/k/initrd.img";
  s.rootfs = "/s/vms/vm-1/rootfs.ext4";
  s.vcpus = 2;
  s.mem_mib = 512;
  s.boot_args = "console=ttyS0";
  Nic n;
  n.tap = "vmtap6";
  n.mac = "06:00:0a:00:00:06";
  s.nic = n;
  return s;
}

bool has_pair(const std::vector<std::string>& a, const std::string& k, const std::string& v) {
  for (std::size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == k && a[i + 1] == v) return true;
  return false;
}

}  // namespace

TEST_CASE("qemu argv: microvm with ACPI, virtio-mmio disk and net, serial to a file, QMP") {
  QemuOptions o;
  o.binary = "/usr/bin/qemu-system-x86_64";
  o.accel = Accel::tcg;
  o.console_log = "/s/vms/vm-1/console.log";
  o.qmp_socket = "/run/vmutils/vm-1/qmp.sock";
  auto a = qemu_argv(spec_with_nic(), o);
  CHECK(a[0] == "/usr/bin/qemu-system-x86_64");
  CHECK(has_pair(a, "-M", "microvm,acpi=on"));
  CHECK(has_pair(a, "-accel", "tcg"));
  CHECK(has_pair(a, "-cpu", "max"));
  CHECK(has_pair(a, "-m", "512M"));
  CHECK(has_pair(a, "-smp", "2"));
  for (const char* f : {"-nodefaults", "-no-user-config", "-nographic", "-no-reboot"})
    CHECK(std::find(a.begin(), a.end(), f) != a.end());
  CHECK(has_pair(a, "-kernel", "/k/vmlinux"));
  CHECK(has_pair(a, "-initrd", "/k/initrd.img"));
  CHECK(has_pair(a, "-append", "console=ttyS0"));
  CHECK(has_pair(a, "-drive", "id=rootfs,file=/s/vms/vm-1/rootfs.ext4,format=raw,if=none"));
  CHECK(has_pair(a, "-device", "virtio-blk-device,drive=rootfs"));
  CHECK(has_pair(a, "-netdev", "tap,id=net0,ifname=vmtap6,script=no,downscript=no,vnet_hdr=on"));
  CHECK(has_pair(a, "-device", "virtio-net-device,netdev=net0,mac=06:00:0a:00:00:06"));
  CHECK(has_pair(a, "-chardev", "file,id=console,path=/s/vms/vm-1/console.log,append=on"));
  CHECK(has_pair(a, "-serial", "chardev:console"));
  CHECK(has_pair(a, "-qmp", "unix:/run/vmutils/vm-1/qmp.sock,server=on,wait=off"));

  o.accel = Accel::kvm;
  auto s = spec_with_nic();
  s.nic.reset();
  s.initrd.reset();
  s.rootfs = "/odd,path/rootfs.ext4";
  a = qemu_argv(s, o);
  CHECK(has_pair(a, "-accel", "kvm"));
  CHECK(has_pair(a, "-cpu", "host"));
  CHECK(std::find(a.begin(), a.end(), "-netdev") == a.end());
  CHECK(std::find(a.begin(), a.end(), "-initrd") == a.end());
  CHECK(has_pair(a, "-drive", "id=rootfs,file=/odd,,path/rootfs.ext4,format=raw,if=none"));
}

TEST_CASE("firecracker argv and requests: logger once, by flags") {
  auto argv = firecracker_argv("/bin/fc", "/run/x/api.sock", "vm-1", "/s/vmm.log");
  CHECK(argv == std::vector<std::string>{"/bin/fc", "--api-sock", "/run/x/api.sock", "--id", "vm-1",
                                         "--log-path", "/s/vmm.log", "--level", "Info"});
  auto r = firecracker_requests(spec_with_nic(), "/s/console.log", true);
  std::vector<std::string> names;
  for (const auto& q : r) names.push_back(q.name());
  CHECK(names == std::vector<std::string>{"PUT /machine-config", "PUT /boot-source",
                                          "PUT /drives/rootfs", "PUT /network-interfaces/eth0",
                                          "PUT /serial", "PUT /actions"});
  CHECK(r[0].body == vmu::Json{{"vcpu_count", 2}, {"mem_size_mib", 512}, {"smt", false}});
  CHECK(r[1].body["initrd_path"] == "/k/initrd.img");
  CHECK(r[2].body["is_root_device"] == true);
  CHECK(r[2].body["is_read_only"] == false);
  CHECK(r[3].body == vmu::Json{{"iface_id", "eth0"},
                               {"host_dev_name", "vmtap6"},
                               {"guest_mac", "06:00:0a:00:00:06"}});
  CHECK(r[4].body["serial_out_path"] == "/s/console.log");
  CHECK(r[5].body["action_type"] == "InstanceStart");
  for (const auto& q : r) CHECK(q.path != "/logger");

  auto s = spec_with_nic();
  s.nic.reset();
  r = firecracker_requests(s, "/s/console.log", false);
  CHECK(r.size() == 4);  // no NIC, no /serial (stdout is the console)
}

TEST_CASE("PUT /serial from Firecracker 1.14 on") {
  CHECK(version_has_serial_api("1.16.1"));
  CHECK(version_has_serial_api("v1.14.0"));
  CHECK(version_has_serial_api("2.0.0"));
  CHECK_FALSE(version_has_serial_api("1.13.2"));
  CHECK_FALSE(version_has_serial_api(""));
}

TEST_CASE("fault_message from an API error") {
  ApiResponse r{400, R"({"fault_message": "Drive config error: bad"})"};
  CHECK(r.fault_message() == "Drive config error: bad");
  r.body = "plain";
  CHECK(r.fault_message() == "plain");
}

TEST_CASE("make_plan: boot args replace/append, paths, accel per backend") {
  vmu::test::TempDir t;
  vmu::State st(t.path / "state", t.path / "run");
  std::filesystem::create_directories(st.vm_dir("vm-1"));
  vmu::write_file_atomic(st.rootfs_path("vm-1"), "r");
  auto rec = vmu::Record::parse(
      R"({"v":1,"id":"vm-1","rootfs":{"path":")" + st.rootfs_path("vm-1").string() +
      R"("},)"
      R"("net":{"tap":"vmtap6","mac":"06:00:0a:00:00:06","ip":"10.0.0.6","prefix":24}})");
  LaunchRequest req;
  req.backend = Backend::qemu;
  req.vmm_binary = "/usr/bin/qemu-system-x86_64";
  req.kernel = "/k/vmlinux";
  req.accel = AccelChoice::tcg;
  req.journal_console = false;
  auto p = make_plan(rec, req, st, 2096025);
  CHECK(p.accel == Accel::tcg);
  CHECK(p.spec.boot_args ==
        "console=ttyS0 reboot=t panic=1 root=/dev/vda rw tsc_early_khz=2096025");
  CHECK(p.control_socket == t.path / "run" / "vm-1" / "qmp.sock");
  CHECK(p.console_log == t.path / "state" / "vms" / "vm-1" / "console.log");
  CHECK(p.dry_run_json()["argv"][0] == "/usr/bin/qemu-system-x86_64");

  req.append_boot_args = "quiet";
  p = make_plan(rec, req, st, 2096025);
  CHECK(p.spec.boot_args.ends_with(" quiet"));
  req.boot_args = "console=ttyS0 init=/bin/sh";
  p = make_plan(rec, req, st, 2096025);
  CHECK(p.spec.boot_args == "console=ttyS0 init=/bin/sh quiet");

  req = LaunchRequest{};
  req.backend = Backend::firecracker;
  req.kernel = "/k/vmlinux";
  req.vmm_binary = "/bin/firecracker";
  p = make_plan(rec, req, st);
  CHECK(p.accel == Accel::kvm);
  CHECK(p.control_socket.filename() == "api.sock");
  CHECK(p.dry_run_json()["requests"].size() == 6);
  req.accel = AccelChoice::tcg;
  CHECK_THROWS_AS(make_plan(rec, req, st), vmu::Error);

  req = LaunchRequest{};
  req.kernel = "";
  CHECK_THROWS_AS(make_plan(rec, req, st), vmu::Error);

  vmu::State deep(t.path / "state", std::string(120, 'r'));
  req.kernel = "/k/vmlinux";
  try {
    make_plan(rec, req, deep);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.reason() == "socket_path_too_long");
  }
}

TEST_CASE("check_inputs: missing files and a missing TAP are bad input") {
  vmu::test::TempDir t;
  vmu::State st(t.path / "state", t.path / "run");
  vmu::write_file_atomic(t.path / "vmlinux", "k");
  std::filesystem::create_directories(st.vm_dir("vm-1"));
  vmu::write_file_atomic(st.rootfs_path("vm-1"), "r");
  auto rec = vmu::Record::parse(
      vmu::Json{{"v", 1}, {"id", "vm-1"}, {"rootfs", {{"path", st.rootfs_path("vm-1").string()}}}}
          .dump());
  LaunchRequest req;
  req.kernel = t.path / "vmlinux";
  req.vmm_binary = "/bin/fc";
  auto p = make_plan(rec, req, st);
  CHECK_NOTHROW(check_inputs(p));
  p.spec.initrd = t.path / "missing-initrd";
  try {
    check_inputs(p);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::usage);
    CHECK(std::string(e.what()).find("missing-initrd") != std::string::npos);
  }
  p.spec.initrd.reset();
  p.spec.nic = Nic{"vmu-no-such-tap", "", "", "", 24};
  try {
    check_inputs(p);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.reason() == "tap_missing");
  }
  p.spec.nic = Nic{"lo", "", "", "", 24};
  try {
    check_inputs(p);
    FAIL("no error");
  } catch (const vmu::Error& e) {
    CHECK(e.reason() == "not_a_tap");
  }
}

TEST_CASE("log_tail: the last lines, one line of text") {
  vmu::test::TempDir t;
  vmu::write_file_atomic(t.path / "log", "a\nb\r\n\nc\nd\ne\nf\n");
  CHECK(log_tail(t.path / "log", 3) == "d | e | f");
  CHECK(log_tail(t.path / "missing") == "");
}
