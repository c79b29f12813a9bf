// vm-ls: the VMs of the state folder and their state, from their records
// and a live check of each VMM.
#include <unistd.h>

#include <fmt/format.h>

#include "cli/table.hpp"
#include "cli/tool.hpp"
#include "lifecycle/status.hpp"
#include "record/jsonl.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-ls", "List the VMs on this host and their state.");
  auto& app = tool.app();
  std::string id;
  bool json = false, failed = false, running = false;
  app.add_option("ID", id, "Show this VM in full: its record and its live state")->type_name("ID");
  app.add_flag("--json", json, "JSON Lines, also on a terminal");
  app.add_flag("--failed", failed, "Only failed VMs");
  app.add_flag("--running", running, "Only VMs whose VMM process runs");

  return tool.main(argc, argv, [&] {
    namespace lc = vmu::lifecycle;
    const vmu::State st = tool.state();
    vmu::LineWriter out(STDOUT_FILENO);
    if (!id.empty()) {
      vmu::check_vm_id(id);
      if (!std::filesystem::exists(st.vm_dir(id)))
        throw vmu::Error(
            vmu::Exit::usage, "unknown_id",
            fmt::format("unknown VM '{}': no folder in {}", id, st.vms_dir().string()));
      const auto full = lc::status_of(st, id).full();
      const bool pretty = !json && ::isatty(STDOUT_FILENO) == 1;
      out.write(pretty ? full.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                       : full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return 0;
    }
    std::vector<nlohmann::json> rows;
    for (const auto& s : lc::list_vms(st)) {
      if (failed && s.state != lc::VmState::failed) continue;
      if (running && !s.vmm_alive) continue;
      rows.push_back(s.row());
    }
    if (json) {
      for (const auto& r : rows)
        out.write(r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return 0;
    }
    vmu::cli::print_rows(rows, {{"ID", "id"},
                                {"STATE", "state"},
                                {"ADDRESS", "address"},
                                {"TAP", "tap"},
                                {"BACKEND", "backend"},
                                {"PID", "pid"},
                                {"AGE", "age"},
                                {"REASON", "reason"},
                                {"CONSOLE", "console"}});
    return 0;
  });
}
