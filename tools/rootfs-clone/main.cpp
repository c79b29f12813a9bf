// rootfs-clone: give each VM its own copy of the golden ext4 image.
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/options.hpp"
#include "cli/tool.hpp"
#include "clone/clone.hpp"
#include "clone/grow.hpp"

namespace {

std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("rootfs-clone",
                      "Give each VM its own copy of a golden ext2/3/4 image (reflink or sparse "
                      "copy).");
  auto& app = tool.app();
  std::string golden, method = "auto", size;
  std::optional<std::string> expect;
  bool keep_machine_id = false, force = false, sync = false;
  if (const char* env = std::getenv("VMUTILS_GOLDEN")) golden = env;
  app.add_option("--golden", golden, "The golden image to clone (default: $VMUTILS_GOLDEN)")
      ->type_name("FILE");
  app.add_option("--method", method,
                 "auto: reflink where possible, else sparse copy; reflink: fail rather than copy; "
                 "copy: always copy (default: auto)")
      ->type_name("{auto,reflink,copy}")
      ->check(vmu::cli::one_of({"auto", "reflink", "copy"}));
  app.add_option("--expect-digest", expect,
                 "Refuse (exit 4) a golden whose SHA-256 is not this one")
      ->type_name("SHA256");
  app.add_flag("--keep-machine-id", keep_machine_id,
               "Keep the golden's /etc/machine-id instead of one derived from the VM id");
  auto* size_opt =
      app.add_option("--size", size, "Grow the clone (file and filesystem) to SIZE, e.g. 2G, 1536M")
          ->type_name("SIZE")
          ->check(vmu::cli::size());
  app.add_flag("--force", force, "Replace an existing rootfs.ext4 that no VM is using");
  app.add_flag("--sync", sync,
               "Sync the clone to disk before renaming it into place, so it survives a host "
               "crash (default: not synced, like cp; for this host boot only)");
  tool.add_id_option(&app, "VM to clone for (instead of records on stdin)", true);
  tool.add_example(&app, "vmnet-alloc -p 192.168.100.0/24 -n 4 | rootfs-clone --golden g.ext4",
                   "A clone of g.ext4 for each of four new VMs.");
  tool.add_example(&app, "rootfs-clone --id vm-3f9c2a1b --retry --golden g.ext4 --size 2G",
                   "Clone again for a VM whose clone failed, grown to 2 GiB.");

  return tool.main(argc, argv, [&] {
    if (golden.empty())
      throw vmu::Error(vmu::Exit::usage,
                       "no golden image: pass --golden PATH or set VMUTILS_GOLDEN");
    vmu::CloneOptions opts;
    opts.golden = golden;
    opts.method = vmu::parse_method(method);
    opts.expect_digest = expect;
    if (expect) vmu::normalise_digest(*expect);  // bad input fails before any record
    opts.keep_machine_id = keep_machine_id;
    if (size_opt->count() > 0) opts.size = vmu::parse_size(size);  // --size '' is an error
    opts.force = force;
    opts.sync = sync;
    auto& log = tool.log();
    return tool.pipeline(
        [&](vmu::Record& r) {
          const vmu::CloneResult res = vmu::clone_rootfs(
              r, tool.state(), opts, [] { return vmu::cli::Tool::interrupted(); },
              tool.progress(r.id()));
          if (res.digest_cached)
            log.debug("{}: golden digest from cache '{}'", r.id(), res.digest_cache.string());
          else
            log.debug("{}: hashed the golden in {} ms{}", r.id(), res.hash_ms,
                      res.digest_cache.empty()
                          ? std::string(" (could not cache the digest)")
                          : fmt::format(", cached in '{}'", res.digest_cache.string()));
          if (!res.no_reflink_reason.empty())
            log.debug("{}: no reflink ({}), copying", r.id(), res.no_reflink_reason);
          const std::string grown =
              res.grown ? fmt::format(", grown to {}", mib(*opts.size)) : std::string();
          if (res.used == vmu::CloneMethod::reflink)
            log.info("{}: reflinked the golden into '{}'{} in {} ms", r.id(), res.path.string(),
                     grown, res.elapsed_ms);
          else
            log.info("{}: copied {} (sparse{}) into '{}'{} in {} ms", r.id(), mib(res.bytes_copied),
                     res.read_write ? ", read/write" : "", res.path.string(), grown,
                     res.elapsed_ms);
        },
        {.jobs = 4});
  });
}
