// fc-launch: boot each VM of the pipeline, detached, with its serial console
// captured from the first byte; write the record's `vmm` section.
#include <unistd.h>

#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/options.hpp"
#include "cli/tool.hpp"
#include "proc/spawn.hpp"
#include "record/jsonl.hpp"
#include "util/duration.hpp"
#include "vmm/launch.hpp"

namespace {

using vmu::Error;
using vmu::Exit;
namespace vmm = vmu::vmm;

struct Options {
  std::string backend, kernel, initrd, boot_args, append, accel = "auto", net = "dhcp";
  std::string fc_bin, qemu_bin, journal_level = "info";
  unsigned vcpus = 1, mem_mib = 512;
  std::string start_timeout = "10s";
  std::optional<unsigned> start_timeout_ms;  // the old --start-timeout-ms
  bool boot_args_given = false, no_journal = false, dry_run = false;
};

// --vmm, or firecracker when it can be found (or --firecracker-bin is
// given), else qemu.
vmm::Backend pick_backend(const Options& o) {
  if (!o.backend.empty()) return vmm::parse_backend(o.backend);
  if (!o.fc_bin.empty() || vmu::find_program("firecracker")) return vmm::Backend::firecracker;
  return vmm::Backend::qemu;
}

// The VMM program, or Exit::failed (environment) when it is not there.
vmu::fs::path resolve_binary(const Options& o, vmm::Backend b, bool dry_run) {
  const bool fc = b == vmm::Backend::firecracker;
  const std::string& given = fc ? o.fc_bin : o.qemu_bin;
  const std::string name = given.empty() ? (fc ? "firecracker" : "qemu-system-x86_64") : given;
  if (auto p = vmu::find_program(name)) return *p;
  if (dry_run) return name;
  throw Error(
      Exit::failed, "vmm_not_found",
      fmt::format("{} '{}' not found or not executable{}", fc ? "Firecracker" : "QEMU", name,
                  given.empty() ? fmt::format(" in $PATH: install it or give --{}-bin",
                                              fc ? "firecracker" : "qemu")
                                : std::string()));
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("fc-launch",
                      "Boot each VM of the pipeline detached (Firecracker or QEMU microvm), "
                      "its serial console captured to a file from the first byte.");
  CLI::App& app = tool.app();
  Options o;
  using vmu::cli::one_of;
  using vmu::cli::range;
  const std::string vm = "The VM", vmm_g = "The VMM", guest = "Guest console and network",
                    pipe = "Records";
  app.add_option("--kernel", o.kernel, "Guest kernel (uncompressed vmlinux)")
      ->envname("VMUTILS_KERNEL")
      ->type_name("FILE")
      ->group(vm);
  app.add_option("--initrd", o.initrd, "Initramfs")
      ->envname("VMUTILS_INITRD")
      ->type_name("FILE")
      ->group(vm);
  auto* ba =
      app.add_option("--boot-args", o.boot_args, "Kernel command line, replacing the defaults")
          ->type_name("ARGS")
          ->group(vm);
  app.add_option("--append-boot-args", o.append, "Added to the kernel command line")
      ->type_name("ARGS")
      ->group(vm);
  app.add_option("--vcpus", o.vcpus, "Virtual CPUs, 1 to 32")
      ->type_name("N")
      ->capture_default_str()
      ->check(range(1, 32))
      ->group(vm);
  app.add_option("--mem-mib", o.mem_mib, "Guest memory in MiB, 16 to 1048576")
      ->type_name("MIB")
      ->capture_default_str()
      ->check(range(16, 1u << 20))
      ->group(vm);
  app.add_option("--vmm", o.backend, "VMM backend (default: firecracker if found, else qemu)")
      ->type_name("{firecracker,qemu}")
      ->check(one_of({"firecracker", "qemu"}))
      ->group(vmm_g);
  app.add_option("--accel", o.accel,
                 "QEMU accelerator; auto (the default): KVM when /dev/kvm opens and the CPU has "
                 "vmx/svm, else TCG")
      ->type_name("{auto,kvm,tcg}")
      ->check(one_of({"auto", "kvm", "tcg"}))
      ->group(vmm_g);
  auto* st_opt =
      app.add_option("--start-timeout", o.start_timeout,
                     "Deadline for the VMM's control socket and configuration, up to "
                     "10 min")
          ->type_name("DURATION")
          ->capture_default_str()
          ->check(vmu::cli::duration(std::chrono::milliseconds(1), std::chrono::minutes(10)))
          ->group(vmm_g);
  // The name before durations were one form: milliseconds, kept for scripts
  // (not in --help; fc-launch(1) lists it).
  app.add_option("--start-timeout-ms", o.start_timeout_ms, "Same as --start-timeout, in ms")
      ->type_name("MS")
      ->check(range(1, 600000))
      ->excludes(st_opt)
      ->group("");
  app.add_option("--firecracker-bin", o.fc_bin, "Firecracker program (default: from $PATH)")
      ->type_name("FILE")
      ->group(vmm_g);
  app.add_option("--qemu-bin", o.qemu_bin, "QEMU program (default: qemu-system-x86_64 in $PATH)")
      ->type_name("FILE")
      ->group(vmm_g);
  app.add_option("--net-config", o.net,
                 "Guest addressing: dhcp (the default: the guest asks) or kernel (an ip= argument; "
                 "needs CONFIG_IP_PNP)")
      ->type_name("{dhcp,kernel}")
      ->check(one_of({"dhcp", "kernel"}))
      ->group(guest);
  app.add_flag("--no-journal-console", o.no_journal,
               "Do not forward the guest's journal to the console")
      ->group(guest);
  app.add_option("--journal-console-level", o.journal_level,
                 "Highest journal level forwarded: emerg, alert, crit, err, warning, notice, info "
                 "or debug")
      ->type_name("LEVEL")
      ->capture_default_str()
      ->check(one_of({"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}))
      ->group(guest);
  tool.add_id_option(&app, "VM to launch (instead of records on stdin)", true);
  app.add_flag("--dry-run", o.dry_run,
               "Print the Firecracker requests or the QEMU argv as JSON; start nothing");
  tool.add_example(&app,
                   "vmnet-alloc -p 192.168.100.0/24 | rootfs-clone --golden g.ext4 |\n"
                   "  fc-launch --vmm qemu --kernel vmlinux --initrd initrd.img",
                   "Boot a new VM from a clone of g.ext4 under QEMU.");
  tool.add_example(&app, "fc-launch --id vm-3f9c2a1b --retry --kernel vmlinux",
                   "Launch a VM again whose launch failed, once the cause is fixed.");
  tool.add_example(&app, "fc-launch --id vm-3f9c2a1b --dry-run --vmm qemu --kernel vmlinux",
                   "Show the QEMU command line fc-launch would run.");

  return tool.main(argc, argv, [&]() -> int {
    o.boot_args_given = ba->count() > 0;
    const vmm::Backend backend = pick_backend(o);
    vmm::LaunchRequest req;
    req.backend = backend;
    req.kernel = o.kernel;
    if (!o.initrd.empty()) req.initrd = o.initrd;
    if (o.boot_args_given) req.boot_args = o.boot_args;
    req.append_boot_args = o.append;
    req.vcpus = o.vcpus;
    req.mem_mib = o.mem_mib;
    req.accel = vmm::parse_accel(o.accel);
    req.net = vmm::parse_net_config(o.net);
    req.journal_console = !o.no_journal;
    req.journal_level = o.journal_level;
    req.start_timeout = o.start_timeout_ms
                            ? std::chrono::milliseconds(*o.start_timeout_ms)
                            : vmu::parse_duration(o.start_timeout, "--start-timeout");
    req.stop = &vmu::cli::Tool::interrupted;
    const vmu::State state = tool.state();

    if (o.dry_run) {
      // Plans only: printed, never started, no record saved.
      req.vmm_binary = resolve_binary(o, backend, true);
      vmu::LineWriter out(STDOUT_FILENO);
      bool open = true;
      const int rc = tool.for_each_record([&](const vmu::Record& rec) {
        if (!open) return;
        auto plan = vmm::make_plan(rec, req, state);
        vmm::check_inputs(plan, false);
        open = out.write(plan.dry_run_json().dump());
      });
      if (!open) tool.report_closed_stdout("the dry run");
      return rc;
    }

    return tool.pipeline(
        [&](vmu::Record& rec) {
          auto plan = vmm::make_plan(rec, req, state);
          vmm::check_inputs(plan);
          plan.argv[0] = resolve_binary(o, backend, false).string();
          const auto t0 = std::chrono::steady_clock::now();
          vmm::VmmInfo info = vmm::launch(plan, req);
          tool.log().info("{}: {} ({}) started, pid {}, in {} ms; console {}", rec.id(),
                          vmm::to_string(info.backend), vmm::to_string(info.accel), info.pid,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count(),
                          info.console_log.string());
          rec.put("vmm", info.to_json());
        },
        {.jobs = 4});
  });
}
