// vm-logs-archive: one .tar.gz of a VM's evidence — logs, record, a
// diagnosis summary, files from the rootfs, the guest journal, host network
// state and a manifest — with secret values redacted.
#include <fmt/format.h>

#include "cli/tool.hpp"
#include "evidence/archive.hpp"
#include "clone/grow.hpp"
#include "evidence/retention.hpp"
#include "inject/request.hpp"

int main(int argc, char** argv) {
  vmu::cli::Tool tool("vm-logs-archive",
                      "Archive a VM's evidence as one .tar.gz, secrets redacted.");
  auto& app = tool.app();
  std::string out, max_bytes;
  std::vector<std::string> redact;
  std::optional<long long> keep;
  app.add_option("--out", out, "Folder for the archives (default: <state>/archive)")
      ->type_name("DIR");
  app.add_option("--redact", redact,
                 "Also redact the value of KEY from the image's env file (repeatable)")
      ->type_name("KEY");
  app.add_option("--keep", keep, "Then keep only the newest N archives of <state>/archive")
      ->type_name("N");
  app.add_option("--max-bytes", max_bytes,
                 "Then remove the oldest archives of <state>/archive beyond SIZE in total")
      ->type_name("SIZE");
  tool.add_id_option(&app, "VM to archive (repeatable; instead of records on stdin)", true);

  return tool.main(argc, argv, [&] {
    namespace ev = vmu::evidence;
    const vmu::State st = tool.state();
    ev::ArchiveOptions opts;
    opts.out_dir = out.empty() ? st.archive_dir() : std::filesystem::absolute(out);
    for (const auto& k : redact)
      if (!vmu::inject::valid_env_key(k))
        throw vmu::Error(vmu::Exit::usage, "usage",
                         fmt::format("--redact '{}': not an environment variable name", k));
    opts.redact = redact;
    if (keep && *keep < 0)
      throw vmu::Error(vmu::Exit::usage, "usage",
                       fmt::format("--keep {}: expected 0 or more archives", *keep));
    if (keep) opts.keep = static_cast<std::size_t>(*keep);
    if (!max_bytes.empty()) opts.max_bytes = vmu::parse_size(max_bytes, "--max-bytes", 1);
    if ((opts.keep || opts.max_bytes) &&
        opts.out_dir.lexically_normal() != st.archive_dir().lexically_normal())
      throw vmu::Error(vmu::Exit::usage, "usage",
                       fmt::format("--keep and --max-bytes prune {} only, and --out is elsewhere; "
                                   "prune '{}' yourself",
                                   st.archive_dir().string(), out));
    opts.stop = [] { return vmu::cli::Tool::interrupted(); };
    return tool.pipeline(
        [&](vmu::Record& r) {
          const ev::ArchiveResult res = ev::make_archive(r, st, opts);
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
