// vm-ls: the VMs of the state folder and their state, from their records
// and a live check of each VMM.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "cli/table.hpp"
#include "cli/tool.hpp"
#include "lifecycle/status.hpp"
#include "net/etcd_store.hpp"
#include "record/jsonl.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-ls", "List the VMs on this host and their state.");
  auto& app = tool.app();
  std::string id;
  bool failed = false, running = false, all_hosts = false;
  app.add_option("ID", id, "Show this VM in full: its record and its live state")->type_name("ID");
  app.add_flag("--failed", failed, "Only failed VMs")->group("Which VMs");
  app.add_flag("--running", running, "Only VMs whose VMM process runs")->group("Which VMs");
  app.add_flag("--all-hosts", all_hosts,
               "Every host's VMs, from the records mirrored to $VMUTILS_STORE (etcd)")
      ->group("Which VMs");
  const std::map<std::string, std::string> state_colors = {
      {"failed", "red"}, {"stale", "yellow"}, {"exited", "yellow"}, {"ready", "green"}};
  vmu::cli::Table& table = tool.add_table_options(
      &app,
      {{"ID", "id"},
       {"STATE", "state", vmu::cli::Fit::keep, false, nullptr, state_colors},
       {"ADDRESS", "address"},
       {"TAP", "tap"},
       {"BACKEND", "backend"},
       {"PID", "pid", vmu::cli::Fit::keep, true},
       {"AGE", "age", vmu::cli::Fit::keep, true},
       {"REASON", "reason", vmu::cli::Fit::truncate},
       {"CONSOLE", "console", vmu::cli::Fit::truncate},
       {"CREATED", "created", vmu::cli::Fit::truncate},
       {"HOST", "host"}},
      {"ID", "STATE", "ADDRESS", "TAP", "BACKEND", "PID", "AGE", "REASON", "CONSOLE"});
  tool.add_example(&app, "vm-ls", "Every VM of this host, a table on a terminal.");
  tool.add_example(&app, "vm-ls --failed --json | jq -r .id", "The ids of the failed VMs.");
  tool.add_example(&app, "vm-ls -o ID,STATE,REASON --no-legend",
                   "Id, state and failure reason only, without the header line.");
  tool.add_example(&app, "vm-ls vm-3f9c2a1b | jq .status", "One VM's live state, from its record.");
  tool.add_example(&app, "VMUTILS_STORE=etcd://10.0.0.11:2379/vmutils vm-ls --all-hosts --failed",
                   "The failed VMs of every host sharing the store.");

  return tool.main(argc, argv, [&] {
    namespace lc = vmu::lifecycle;
    const vmu::State st = tool.state();
    if (!id.empty()) {
      vmu::check_vm_id(id);
      if (!std::filesystem::exists(st.vm_dir(id)))
        throw vmu::Error(
            vmu::Exit::usage, "unknown_id",
            fmt::format("unknown VM '{}': no folder in {}", id, st.vms_dir().string()));
      const auto full = lc::status_of(st, id).full();
      const bool pretty = !table.options().json && ::isatty(STDOUT_FILENO) == 1;
      vmu::LineWriter out(STDOUT_FILENO);
      if (!out.write(pretty ? full.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            : full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
        tool.report_closed_stdout("the record");
      return 0;
    }
    std::vector<lc::VmStatus> vms = lc::list_vms(st);
    if (all_hosts) {
      const char* spec = std::getenv("VMUTILS_STORE");
      vmu::OpenedStore opened = vmu::open_lease_store(spec ? spec : "", st);
      if (!opened.etcd)
        throw vmu::Error(vmu::Exit::usage, "usage",
                         "--all-hosts needs a store shared by hosts: set "
                         "VMUTILS_STORE=etcd://HOST:PORT[,HOST:PORT...]/PREFIX");
      // This host's VMs as checked here (host named), then the others'.
      for (auto& v : vms) v.host = opened.host;
      for (const auto& m : opened.etcd->records()) {
        if (m.host == opened.host) continue;
        try {
          vms.push_back(lc::status_of_mirrored(m.id, m.host, vmu::Record::from_json(m.record)));
        } catch (const vmu::Error& e) {
          tool.log().warn("{} (host {}): its mirrored record is unreadable: {}", m.id, m.host,
                          e.what());
        }
      }
      std::stable_sort(vms.begin(), vms.end(),
                       [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    std::vector<nlohmann::json> rows;
    for (const auto& s : vms) {
      if (failed && s.state != lc::VmState::failed) continue;
      if (running && !s.vmm_alive && !s.remote) continue;
      rows.push_back(s.row());
    }
    const bool printed = all_hosts ? table.print(rows, {"ID", "HOST", "STATE", "ADDRESS", "TAP",
                                                        "BACKEND", "PID", "AGE", "REASON"})
                                   : table.print(rows);
    if (!printed) tool.report_closed_stdout("the list");
    return 0;
  });
}
