// vm-destroy: stop the VMM, archive the evidence (by default when the VM
// failed), delete the TAP, release the lease, remove the state.
#include <set>

#include <fmt/format.h>

#include "cli/tool.hpp"
#include "inject/request.hpp"
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
  app.add_option("ID", ids, "VMs to destroy (instead of records on stdin)")->type_name("ID");
  tool.add_id_option(&app, "VM to destroy (repeatable; same as ID)", true);
  app.add_flag("--failed", failed, "Destroy every failed VM of the state folder");
  app.add_flag("--all", all, "Destroy ready VMs from stdin too (default: passed through)");
  app.add_option("--archive", archive, "Archive the evidence: failed (default), always, never")
      ->type_name("WHEN");
  app.add_option("--out", out, "Folder for the archives (default: <state>/archive)")
      ->type_name("DIR");
  app.add_option("--redact", redact, "Also redact the value of KEY in archives (repeatable)")
      ->type_name("KEY");
  app.add_flag("--keep-state", keep_state, "Keep the state folder (record, rootfs, logs)");
  app.add_option("--grace", grace, "Time the guest gets to power off, then after SIGTERM (10s)")
      ->type_name("DURATION");

  return tool.main(argc, argv, [&] {
    namespace lc = vmu::lifecycle;
    const vmu::State st = tool.state();
    lc::DestroyOptions opts;
    opts.archive = lc::parse_archive_when(archive);
    opts.keep_state = keep_state;
    opts.grace = vmu::parse_duration(grace, "--grace");
    opts.archive_opts.made_by = "vm-destroy";
    opts.archive_opts.out_dir = out.empty() ? st.archive_dir() : std::filesystem::absolute(out);
    for (const auto& k : redact)
      if (!vmu::inject::valid_env_key(k))
        throw vmu::Error(vmu::Exit::usage, "usage",
                         fmt::format("--redact '{}': not an environment variable name", k));
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
      for (auto& id : named)
        if (seen.insert(id).second) unique.push_back(id);
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
          const lc::DestroyReport rep = lc::destroy_vm(r, st, store, *net, opts);
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
