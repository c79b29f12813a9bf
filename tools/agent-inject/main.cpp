// agent-inject: write files, folders, symlinks, systemd units (enabled) and
// environment keys into a VM's ext4 rootfs, offline and validated first.
#include <fmt/format.h>

#include "cli/tool.hpp"
#include "inject/inject.hpp"
#include "inject/request.hpp"
#include "inspect/check.hpp"
#include "record/jsonl.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("agent-inject",
                      "Write files, units and env keys into a VM's ext4 image, offline.");
  auto& app = tool.app();
  std::string image, spec, env_target, env_mode;
  std::vector<std::string> copies, mkdirs, symlinks, units, envs, env_files;
  bool dry_run = false, check = false, reporter = false, persist_journal = false;
  std::string reporter_port;
  std::vector<std::string> reporter_units;
  app.add_option("--image", image, "Image to edit, instead of records' rootfs.path")
      ->type_name("FILE");
  app.add_option("--copy", copies, "Copy a host file or folder (repeatable)")
      ->type_name("SRC:DEST[:MODE[:UID:GID]]");
  app.add_option("--mkdir", mkdirs, "Create a folder, with parents (repeatable)")
      ->type_name("DIR[:MODE]");
  app.add_option("--symlink", symlinks, "Create or replace a symlink (repeatable)")
      ->type_name("TARGET:LINK");
  app.add_option("--unit", units, "Install a systemd unit and enable it (repeatable)")
      ->type_name("FILE");
  app.add_option("--env", envs, "Set KEY in the env target; bare KEY: from this environment")
      ->type_name("KEY[=VALUE]");
  app.add_option("--env-file", env_files, "Set every KEY=VALUE line of FILE (repeatable)")
      ->type_name("FILE");
  app.add_option("--env-target", env_target, "Env file in the image (default /etc/environment)")
      ->type_name("PATH");
  app.add_option("--env-mode", env_mode,
                 "Mode of the env target, owner root:root (default 0600: it holds secrets)")
      ->type_name("MODE");
  app.add_option("--spec", spec, "JSON document with the same operations")->type_name("FILE");
  app.add_flag("--reporter", reporter,
               "Install the guest reporter: state blocks on the console for vm-wait-ready");
  app.add_option("--reporter-port", reporter_port, "Port the reporter watches (default 8080)")
      ->type_name("PORT");
  app.add_option("--reporter-unit", reporter_units,
                 "Unit the reporter watches (repeatable; default: the --unit units)")
      ->type_name("NAME");
  app.add_flag("--persist-journal", persist_journal,
               "Keep the guest's journal on its disk, synced every second (journald drop-in)");
  app.add_flag("--dry-run", dry_run, "Validate and print the plan; write nothing");
  app.add_flag("--check", check,
               "Then preflight each installed unit (as rootfs-inspect check); errors exit 4");
  tool.add_id_option(&app, "VM to work on (instead of records on stdin)", true);
  for (const char* name : {"--copy", "--mkdir", "--symlink", "--unit"})
    app.get_option(name)->group("Files and units");
  for (const char* name : {"--env", "--env-file", "--env-target", "--env-mode"})
    app.get_option(name)->group("Environment (values are never printed or stored)");
  tool.add_example(&app,
                   "agent-inject --id vm-3f9c2a1b --copy ./agent:/opt/agent/server:0755 \\\n"
                   "  --unit agent.service --env SESSION_ID --check",
                   "Install an agent, enable its unit, pass SESSION_ID from this environment, "
                   "and preflight the unit.");
  tool.add_example(&app, "agent-inject --image disk.ext4 --spec agent.json --dry-run",
                   "Validate a spec against an image and print the plan; write nothing.");

  return tool.main(argc, argv, [&] {
    namespace inj = vmu::inject;
    if (!image.empty() && tool.has_ids())
      throw vmu::Error(vmu::Exit::usage, "usage",
                       "--image and --id are exclusive: --image edits one image outside a "
                       "pipeline, --id names VMs whose rootfs.path is edited");
    // The request: the spec's operations first, then the flags'.
    const auto getenv = inj::process_env();
    inj::Request req;
    if (!spec.empty()) req = inj::load_spec(spec, getenv);
    inj::Request flags;
    for (const auto& a : mkdirs) flags.mkdirs.push_back(inj::parse_mkdir(a));
    for (const auto& a : copies) flags.copies.push_back(inj::parse_copy(a));
    for (const auto& a : symlinks) flags.symlinks.push_back(inj::parse_symlink(a));
    for (const auto& a : units) flags.units.emplace_back(a);
    for (const auto& f : env_files)
      for (auto& v : inj::parse_env_file(f)) flags.env.push_back(std::move(v));
    for (const auto& a : envs) flags.env.push_back(inj::parse_env(a, getenv));
    if (!env_target.empty()) flags.env_target = inj::check_guest_path(env_target, "--env-target");
    if ((!reporter_port.empty() || !reporter_units.empty()) && !reporter)
      throw vmu::Error(vmu::Exit::usage, "usage",
                       "--reporter-port and --reporter-unit go with --reporter");
    if (reporter) {
      inj::ReporterSpec rs;
      if (!reporter_port.empty()) rs.port = inj::parse_port(reporter_port, "--reporter-port");
      for (const auto& u : reporter_units)
        rs.units.push_back(inj::check_unit_name(u, "--reporter-unit"));
      flags.reporter = std::move(rs);
    }
    flags.persist_journal = persist_journal;
    req.merge(std::move(flags), !env_target.empty());
    if (!env_mode.empty()) req.env_mode = inj::parse_mode(env_mode, "--env-mode");
    // Copies of 16 MiB and more say what they copy, with progress on a
    // terminal; smaller ones are quick.
    constexpr std::uint64_t kShownCopy = 16u << 20;
    inj::Options opts{.dry_run = dry_run,
                      .stop = [] { return vmu::cli::Tool::interrupted(); },
                      .progress = tool.progress("", kShownCopy)};

    // The plan: data on stdout for --image, else beside the records, on
    // stderr (through the log, which quotes control characters).
    auto report = [&](const inj::Result& res, const std::string& who, bool plan_on_stdout) {
      for (const auto& w : res.warnings) tool.log().warn("{}warning: {}", who, w);
      if (dry_run)
        for (const auto& line : res.plan) {
          if (plan_on_stdout)
            fmt::print("{}{}\n", who, line);
          else
            tool.log().info("{}{}", who, line);
        }
    };

    // --check: the units just installed, with every injected key required;
    // findings on stderr, and an error when any finding is one.
    auto preflight = [&](const std::string& img, const inj::Result& res, const std::string& who) {
      if (!check || dry_run || res.units.empty()) return;
      std::vector<std::string> names;
      for (const auto& u : res.units) names.push_back(u.name);
      const auto findings = vmu::inspect::check_units(img, names, res.env_keys);
      for (const auto& f : findings) {
        if (f.severity == vmu::inspect::Severity::error)
          tool.log().error("{}check: {}: {}: {}", who, f.unit, f.code, f.message);
        else if (f.severity == vmu::inspect::Severity::warning)
          tool.log().warn("{}check: {}: {}: {}", who, f.unit, f.code, f.message);
        else
          tool.log().debug("{}check: {}: {}: {}", who, f.unit, f.code, f.message);
      }
      if (vmu::inspect::has_errors(findings))
        throw vmu::Error(vmu::Exit::guest_failed, "preflight_failed",
                         fmt::format("the injected units would not start: {} (see `rootfs-inspect "
                                     "check {} --unit NAME`)",
                                     vmu::inspect::summary(findings), img));
      tool.log().info("{}check: {}: {}", who, fmt::join(names, ", "),
                      vmu::inspect::summary(findings));
    };

    if (!image.empty()) {
      inj::refuse_golden(image, inj::known_goldens(tool.state()));
      auto res = inj::inject(image, req, opts);
      if (res.applied && vmu::cli::Tool::interrupted()) {
        tool.log().warn(
            "a signal arrived while '{}' was being written: the write was finished "
            "first, so the image is complete",
            image);
        tool.finished_despite_interrupt();
      }
      report(res, "", true);
      std::fflush(stdout);
      if (!dry_run && !vmu::LineWriter(STDOUT_FILENO).write(res.agent_json().dump()))
        tool.report_closed_stdout("the agent section");
      preflight(image, res, "");
      return 0;
    }
    return tool.pipeline(
        [&](vmu::Record& r) {
          const auto& rootfs = r.get("rootfs");
          auto path = rootfs.find("path");
          if (path == rootfs.end() || !path->is_string())
            throw vmu::Error(vmu::Exit::usage, "no_rootfs",
                             fmt::format("record '{}' has no rootfs.path: run rootfs-clone "
                                         "first, or use --image",
                                         r.id()));
          // Only this VM's own image, never one the record points elsewhere.
          const std::string image_path =
              tool.state().trusted_record_file(r, "rootfs.path", path->get<std::string>());
          std::vector<std::filesystem::path> goldens;
          if (auto g = rootfs.find("golden"); g != rootfs.end() && g->is_string())
            goldens.emplace_back(g->get<std::string>());
          inj::refuse_golden(image_path, goldens);
          inj::Options mine = opts;
          mine.progress = tool.progress(r.id(), kShownCopy);
          auto res = inj::inject(image_path, req, mine);
          report(res, r.id() + ": ", false);
          if (!dry_run) {
            // A second run on the same VM adds to what the first one wrote.
            auto a = r.json().find("agent");
            r.put("agent",
                  inj::merge_agent(a != r.json().end() ? *a : nlohmann::json(), res.agent_json()));
          }
          preflight(image_path, res, r.id() + ": ");
        },
        {.jobs = 2});
  });
}
