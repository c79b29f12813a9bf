// vm-logs-archive: one .tar.gz of a VM's evidence — logs, record, a
// diagnosis summary, files from the rootfs, the guest journal, host network
// state and a manifest — with secret values redacted.
#include <fmt/format.h>

#include "cli/options.hpp"
#include "cli/tool.hpp"
#include "clone/grow.hpp"
#include "evidence/archive.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-logs-archive",
                      "Archive a VM's evidence as one .tar.gz, secrets redacted.");
  auto& app = tool.app();
  std::string out, max_bytes;
  std::vector<std::string> redact;
  std::optional<unsigned> keep;
  const std::string where_g = "Where the archives go", secrets_g = "Secrets";
  tool.add_id_option(&app, "VM to archive (repeatable; instead of records on stdin)", true,
                     vmu::cli::Retry::none);
  app.add_option("--out", out, "Folder for the archives (default: <state>/archive)")
      ->type_name("DIR")
      ->group(where_g);
  app.add_option("--keep", keep, "Then keep only the newest N archives of <state>/archive")
      ->type_name("N")
      ->check(vmu::cli::range(0, 1000000))
      ->group(where_g);
  app.add_option("--max-bytes", max_bytes,
                 "Then remove the oldest archives of <state>/archive beyond SIZE in total")
      ->type_name("SIZE")
      ->check(vmu::cli::size(1))
      ->group(where_g);
  app.add_option("--redact", redact,
                 "Also redact the value of KEY from the image's env file (repeatable)")
      ->type_name("KEY")
      ->check(vmu::cli::env_key())
      ->group(secrets_g);
  tool.add_example(&app, "vm-logs-archive --id vm-3f9c2a1b",
                   "Archive a VM's evidence (running or not) into <state>/archive.");
  tool.add_example(&app, "... | vm-wait-ready | vm-logs-archive --keep 20",
                   "Archive every VM of the pipeline, failed or ready; keep the newest 20.");
  tool.add_example(&app, "vm-logs-archive --id vm-3f9c2a1b --redact API_TOKEN --out /tmp/ev",
                   "Also redact API_TOKEN's value, and write the archive to /tmp/ev.");

  return tool.main(argc, argv, [&] {
    namespace ev = vmu::evidence;
    const vmu::State st = tool.state();
    ev::ArchiveOptions opts;
    opts.out_dir = out.empty() ? st.archive_dir() : std::filesystem::absolute(out);
    opts.redact = redact;
    if (keep) opts.keep = static_cast<std::size_t>(*keep);
    if (!max_bytes.empty()) opts.max_bytes = vmu::parse_size(max_bytes, "--max-bytes", 1);
    if ((opts.keep || opts.max_bytes) &&
        opts.out_dir.lexically_normal() != st.archive_dir().lexically_normal())
      throw vmu::Error(vmu::Exit::usage, "usage",
                       fmt::format("--keep and --max-bytes prune {} only, and --out is elsewhere; "
                                   "prune '{}' yourself",
                                   st.archive_dir().string(), out));
    opts.stop = [] { return vmu::cli::Tool::interrupted(); };
    // Failed VMs are what the evidence is for: taken as they come, their
    // error kept (Retry::none: there is no step to retry).
    return tool.pipeline(
        [&](vmu::Record& r) {
          ev::ArchiveOptions o = opts;
          o.progress = tool.progress(r.id(), 64u << 20);
          const ev::ArchiveResult res = ev::make_archive(r, st, o);
          r.put("archive", res.section());
          std::string missing;
          for (const auto& m : res.missing) missing += (missing.empty() ? "" : ", ") + m.item;
          tool.log().info("{}: archived to {} ({} bytes, {} members{}{})", r.id(),
                          res.path.string(), res.size, res.members.size(),
                          res.verdict.empty() ? "" : "; console: " + res.verdict,
                          missing.empty() ? "" : "; not collected: " + missing);
          for (const auto& m : res.missing)
            tool.log().debug("{}: not collected: {}: {}", r.id(), m.item, m.why);
          for (const auto& k : res.absent_keys)
            tool.log().warn("{}: {} has no value in the image's env file: nothing to redact for it",
                            r.id(), k);
          for (const auto& k : res.short_keys)
            tool.log().warn(
                "{}: the value of {} is shorter than 4 bytes: redacted only where it "
                "is written {}=VALUE",
                r.id(), k, k);
          for (const auto& p : res.pruned)
            tool.log().info("removed old archive {} ({} bytes)", p.path.string(), p.size);
        },
        {.jobs = 1, .take_failed = true, .save = vmu::cli::Tool::Save::if_state_exists});
  });
}
