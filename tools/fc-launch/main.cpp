// fc-launch: boot each VM of the pipeline, detached, with its serial console
// captured from the first byte; write the record's `vmm` section.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/tool.hpp"
#include "proc/spawn.hpp"
#include "record/jsonl.hpp"
#include "vmm/launch.hpp"

namespace {

using vmu::Error;
using vmu::Exit;
namespace vmm = vmu::vmm;

struct Options {
  std::string backend, kernel, initrd, boot_args, append, accel = "auto", net = "dhcp";
  std::string fc_bin, qemu_bin, journal_level = "info";
  unsigned vcpus = 1, mem_mib = 512, start_timeout_ms = 10000;
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

// A check without CLI11's "in [a - b]" noise in --help.
CLI::Validator in_range(unsigned lo, unsigned hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        unsigned n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi)
          return fmt::format("'{}' is not a number from {} to {}", v, lo, hi);
        return {};
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> words) {
  return CLI::Validator(
      [words](std::string& v) -> std::string {
        for (const auto& w : words)
          if (v == w) return {};
        return fmt::format("'{}' is not one of {}", v, fmt::join(words, ", "));
      },
      "");
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("fc-launch",
                      "Boot each VM of the pipeline detached (Firecracker or QEMU microvm), "
                      "its serial console captured to a file from the first byte.");
  CLI::App& app = tool.app();
  Options o;
  app.add_option("--vmm", o.backend, "VMM backend (default: firecracker if found, else qemu)")
      ->type_name("{firecracker,qemu}")
      ->check(one_of({"firecracker", "qemu"}));
  app.add_option("--kernel", o.kernel, "Guest kernel (uncompressed vmlinux)")
      ->envname("VMUTILS_KERNEL")
      ->type_name("FILE");
  app.add_option("--initrd", o.initrd, "Initramfs")->envname("VMUTILS_INITRD")->type_name("FILE");
  auto* ba =
      app.add_option("--boot-args", o.boot_args, "Kernel command line, replacing the defaults")
          ->type_name("ARGS");
  app.add_option("--append-boot-args", o.append, "Added to the kernel command line")
      ->type_name("ARGS");
  app.add_option("--vcpus", o.vcpus, "Virtual CPUs (default: 1)")
      ->type_name("N")
      ->check(in_range(1, 32));
  app.add_option("--mem-mib", o.mem_mib, "Guest memory in MiB (default: 512)")
      ->type_name("MIB")
      ->check(in_range(16, 1u << 20));
  app.add_option("--accel", o.accel,
                 "QEMU accelerator; auto (the default): KVM when /dev/kvm opens and the CPU has "
                 "vmx/svm, else TCG")
      ->type_name("{auto,kvm,tcg}")
      ->check(one_of({"auto", "kvm", "tcg"}));
  app.add_option("--net-config", o.net,
                 "Guest addressing: dhcp (the default: the guest asks) or kernel (an ip= argument; "
                 "needs CONFIG_IP_PNP)")
      ->type_name("{dhcp,kernel}")
      ->check(one_of({"dhcp", "kernel"}));
  app.add_flag("--no-journal-console", o.no_journal,
               "Do not forward the guest's journal to the console");
  app.add_option("--journal-console-level", o.journal_level,
                 "Highest journal level forwarded: emerg..debug (default: info)")
      ->type_name("LEVEL")
      ->check(one_of({"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}));
  app.add_option("--start-timeout-ms", o.start_timeout_ms,
                 "Deadline for the VMM's control socket and configuration (default: 10000)")
      ->type_name("MS")
      ->check(in_range(1, 600000));
  app.add_option("--firecracker-bin", o.fc_bin, "Firecracker program (default: from $PATH)")
      ->type_name("FILE");
  app.add_option("--qemu-bin", o.qemu_bin, "QEMU program (default: qemu-system-x86_64 in $PATH)")
      ->type_name("FILE");
  app.add_flag("--dry-run", o.dry_run,
               "Print the Firecracker requests or the QEMU argv as JSON; start nothing");
  tool.add_id_option(&app, "VM to launch (instead of records on stdin)", true);

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
    req.start_timeout = std::chrono::milliseconds(o.start_timeout_ms);
    req.stop = &vmu::cli::Tool::interrupted;
    const vmu::State state = tool.state();

    if (o.dry_run) {
      // Plans only: printed, never started, no record saved.
      req.vmm_binary = resolve_binary(o, backend, true);
      vmu::LineWriter out(STDOUT_FILENO);
      Exit first = Exit::ok;
      auto one = [&](const vmu::Record& rec) {
        try {
          auto plan = vmm::make_plan(rec, req, state);
          vmm::check_inputs(plan, false);
          out.write(plan.dry_run_json().dump());
        } catch (const Error& e) {
          tool.log().error("{}: {}", rec.id(), e.what());
          if (first == Exit::ok) first = e.code();
        }
      };
      if (tool.has_ids()) {
        for (const auto& id : tool.ids()) {
          if (vmu::cli::Tool::interrupted()) break;
          auto rec = state.load(id);
          if (!rec.failed()) one(rec);
        }
      } else {
        if (::isatty(STDIN_FILENO) == 1)
          throw Error(Exit::usage,
                      "no records: pipe records into fc-launch, or name a VM with --id");
        vmu::LineReader in(STDIN_FILENO, vmu::kMaxLineBytes,
                           [] { return vmu::cli::Tool::interrupted(); });
        while (auto line = in.next()) {
          if (vmu::cli::Tool::interrupted()) break;
          if (line->too_long) {
            tool.log().error("standard input line {}: longer than {} bytes, skipped", line->number,
                             vmu::kMaxLineBytes);
            if (first == Exit::ok) first = Exit::usage;
            continue;
          }
          try {
            auto rec = vmu::Record::parse(line->text);
            if (!rec.failed()) one(rec);
          } catch (const Error& e) {
            tool.log().error("standard input line {}: {}", line->number, e.what());
            if (first == Exit::ok) first = e.code();
          }
        }
      }
      if (vmu::cli::Tool::interrupted()) return static_cast<int>(Exit::interrupted);
      return static_cast<int>(first);
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
