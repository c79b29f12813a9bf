// vm-destroy: stop the VMM, archive the evidence (by default when the VM
// failed), delete the TAP, release the lease, remove the state.
#include <set>

#include <fmt/format.h>

#include "cli/options.hpp"
#include "cli/tool.hpp"
#include "lifecycle/destroy.hpp"
#include "lifecycle/status.hpp"
#include "net/lease_store.hpp"
#include "net/netdev.hpp"
#include "util/duration.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-destroy",
                      "Stop VMs and remove them, keeping the evidence of failed ones.");
  auto& app = tool.app();
  std::vector<std::string> ids, redact;
  std::string archive = "failed", grace = "10s", out;
  bool failed = false, all = false, keep_state = false;
  const std::string which_g = "Which VMs", ev_g = "Evidence", stop_g = "Stopping";
  app.add_option("ID", ids, "VMs to destroy (instead of records on stdin)")->type_name("ID");
  tool.add_id_option(&app, "VM to destroy (repeatable; same as ID)", true, vmu::cli::Retry::none);
  app.add_flag("--failed", failed, "Destroy every failed VM of the state folder")->group(which_g);
  app.add_flag("--all", all, "Destroy ready VMs from stdin too (default: passed through)")
      ->group(which_g);
  app.add_option("--archive", archive, "When to archive the evidence first")
      ->type_name("{failed,always,never}")
      ->capture_default_str()
      ->check(vmu::cli::one_of({"failed", "always", "never"}))
      ->group(ev_g);
  app.add_option("--out", out, "Folder for the archives (default: <state>/archive)")
      ->type_name("DIR")
      ->group(ev_g);
  app.add_option("--redact", redact, "Also redact the value of KEY in archives (repeatable)")
      ->type_name("KEY")
      ->check(vmu::cli::env_key())
      ->group(ev_g);
  app.add_flag("--keep-state", keep_state, "Keep the state folder (record, rootfs, logs)")
      ->group(ev_g);
  app.add_option("--grace", grace,
                 "Time the guest gets to power off, then the VMM after SIGTERM (then SIGKILL)")
      ->type_name("DURATION")
      ->capture_default_str()
      ->check(vmu::cli::duration(std::chrono::milliseconds(0), std::chrono::minutes(10)))
      ->group(stop_g);
  tool.add_example(&app, "vm-destroy vm-3f9c2a1b",
                   "Stop a VM and remove it; its evidence is archived if it failed.");
  tool.add_example(&app, "... | vm-wait-ready | vm-destroy",
                   "End of a CI pipeline: failed VMs archived and destroyed, ready ones passed "
                   "on.");
  tool.add_example(&app, "vm-destroy --failed --archive always --keep-state",
                   "Archive and stop every failed VM, keeping their state folders.");

  return tool.main(argc, argv, [&] {
    namespace lc = vmu::lifecycle;
    const vmu::State st = tool.state();
    lc::DestroyOptions opts;
    opts.archive = lc::parse_archive_when(archive);
    opts.keep_state = keep_state;
    opts.grace = vmu::parse_duration(grace, "--grace");
    opts.archive_opts.made_by = "vm-destroy";
    opts.archive_opts.out_dir = out.empty() ? st.archive_dir() : std::filesystem::absolute(out);
    opts.archive_opts.redact = redact;
    opts.archive_opts.stop = [] { return vmu::cli::Tool::interrupted(); };

    // Named VMs (arguments, --id, --failed) are destroyed whatever their
    // state; from stdin, ready ones pass through unless --all.
    vmu::cli::Tool::PipelineOptions po{
        .jobs = 2, .take_failed = true, .save = vmu::cli::Tool::Save::never, .missing_ok = true};
    std::vector<std::string> named = ids;
    named.insert(named.end(), tool.ids().begin(), tool.ids().end());
    for (const auto& id : ids) vmu::check_vm_id(id);
    if (failed)
      for (const auto& s : lc::list_vms(st))
        if (s.state == lc::VmState::failed) named.push_back(s.id);
    if (failed || !named.empty()) {
      std::set<std::string> seen;
      std::vector<std::string> unique;
      for (auto& id : named) {
        if (!seen.insert(id).second) continue;
        // A record a power cut emptied: nothing left to stop or release.
        if (lc::remove_lost_record(st, id))
          tool.log().info("{}: its record was empty (lost in a power cut): folder removed", id);
        else
          unique.push_back(id);
      }
      po.ids = std::move(unique);
      opts.all = true;
      if (failed && po.ids->empty()) tool.log().info("no failed VM in {}", st.root().string());
    } else {
      opts.all = all;
    }

    vmu::FileLeaseStore store(st.leases_dir());
    auto net = vmu::make_kernel_netdevices();
    return tool.pipeline(
        [&](vmu::Record& r) {
          lc::DestroyOptions o = opts;
          o.archive_opts.progress = tool.progress(r.id(), 64u << 20);
          const lc::DestroyReport rep = lc::destroy_vm(r, st, store, *net, o);
          if (rep.passed) {
            tool.log().info("{}: ready: passed through (--all destroys it too)", r.id());
            return;
          }
          for (const auto& e : rep.events)
            tool.log().info("{}: {}{}", r.id(), e.done ? "" : "not found: ", e.text);
          tool.log().info("{}: destroyed{}", r.id(), keep_state ? " (state kept)" : "");
        },
        po);
  });
}
