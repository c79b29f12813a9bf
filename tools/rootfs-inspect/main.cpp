// rootfs-inspect: look inside an ext4 image without mounting it (ls, cat,
// stat), diff two images, and preflight a systemd unit in one.
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "cli/options.hpp"
#include "cli/table.hpp"
#include "cli/tool.hpp"
#include "inspect/check.hpp"
#include "inspect/diff.hpp"
#include "inspect/tree.hpp"
#include "record/jsonl.hpp"

namespace {

namespace ins = vmu::inspect;
using vmu::cli::Column;
using vmu::cli::Fit;

bool stdout_is_tty() {
  return ::isatty(STDOUT_FILENO) == 1;
}

// Raw bytes to stdout; false once the reader has gone (EPIPE).
bool write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw vmu::sys_error("writing to standard output", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string shown_path(const ins::Entry& e) {
  return e.stat.type == vmu::ext4::FileType::symlink ? e.path + " -> " + e.stat.symlink_target
                                                     : e.path;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The image of the VM `id`: its record's rootfs.path, a file of its own
// state folder. A failed VM is inspected all the same (that is when one
// looks).
std::string vm_image(const vmu::State& st, const std::string& id) {
  const vmu::Record rec = st.load(id);
  const auto& rootfs = rec.get("rootfs");
  auto path = rootfs.find("path");
  if (path == rootfs.end() || !path->is_string())
    throw vmu::Error(
        vmu::Exit::usage, "no_rootfs",
        fmt::format("VM '{}' has no image: its record has no rootfs.path{}", id,
                    rec.failed() && rec.get("error").value("tool", "") == "rootfs-clone"
                        ? " (rootfs-clone failed on it)"
                        : " (rootfs-clone has not cloned for it)"));
  return st.trusted_record_file(rec, "rootfs.path", path->get<std::string>()).string();
}

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("rootfs-inspect",
                      "Look inside an ext4 image read-only: ls, cat, stat, diff two images, "
                      "check a unit.");
  auto& app = tool.app();
  app.require_subcommand(1, 1);
  ins::Limits limits;

  // With --id the positionals shift: the IMAGE slot holds what comes after.
  std::string image, path, image_b;
  bool long_fmt = false, recursive = false, deref = false;
  std::vector<std::string> prefixes, require_env;
  std::string unit;

  auto add_limits = [&](CLI::App* sub) {
    sub->add_option("--max-entries", limits.max_entries, "Stop with an error past N entries")
        ->type_name("N")
        ->capture_default_str()
        ->check(vmu::cli::range(1, 999999999));
    sub->add_option("--max-depth", limits.max_depth, "Stop with an error past N folders deep")
        ->type_name("N")
        ->capture_default_str()
        ->check(vmu::cli::range(1, 999999999));
  };
  const std::string by_id = "A VM's image (its record's rootfs.path) instead of IMAGE";

  CLI::App* ls = tool.add_subcommand("ls", "List a folder of the image (JSON Lines or a table)");
  ls->add_option("IMAGE", image, "The ext2/3/4 image")->type_name("FILE");
  ls->add_option("PATH", path, "Folder or file in the image (default /)")->type_name("PATH");
  ls->add_flag("-l,--long", long_fmt, "Mode, owner, size and time of each entry");
  ls->add_flag("-R,--recursive", recursive, "List sub-folders too (symlinks not followed)");
  add_limits(ls);
  tool.add_id_option(ls, by_id, false, vmu::cli::Retry::none);
  vmu::cli::Table& ls_table = tool.add_table_options(ls,
                                                     {{"PATH", "path", Fit::truncate},
                                                      {"TYPE", "type"},
                                                      {"TARGET", "target", Fit::truncate},
                                                      {"MODE", "mode"},
                                                      {"UID", "uid", Fit::keep, true},
                                                      {"GID", "gid", Fit::keep, true},
                                                      {"SIZE", "size", Fit::keep, true},
                                                      {"MTIME", "mtime"},
                                                      {"LINKS", "links", Fit::keep, true},
                                                      {"INODE", "inode", Fit::keep, true}},
                                                     {"PATH"});
  tool.add_example(ls, "rootfs-inspect ls -lR --id vm-3f9c2a1b /etc/systemd/system",
                   "The units and links under /etc/systemd/system of a VM's image.");

  CLI::App* cat = tool.add_subcommand("cat", "Write a file of the image to stdout, as is");
  cat->add_option("IMAGE", image, "The ext2/3/4 image")->type_name("FILE");
  cat->add_option("PATH", path, "File in the image (symlinks followed)")->type_name("PATH");
  tool.add_id_option(cat, by_id, false, vmu::cli::Retry::none);

  CLI::App* st = tool.add_subcommand("stat", "Type, mode, owner, size and times of an entry");
  st->add_option("IMAGE", image, "The ext2/3/4 image")->type_name("FILE");
  st->add_option("PATH", path, "Entry in the image")->type_name("PATH");
  st->add_flag("-L,--dereference", deref, "Follow a symlink at PATH");
  tool.add_id_option(st, by_id, false, vmu::cli::Retry::none);

  CLI::App* diff = tool.add_subcommand("diff", "What differs between two images");
  diff->add_option("A", image, "The first image (e.g. a working VM's)")->type_name("FILE");
  diff->add_option("B", image_b, "The second image (e.g. a failing VM's)")->type_name("FILE");
  diff->add_option("--path", prefixes, "Compare only under PREFIX (repeatable)")
      ->type_name("PREFIX");
  add_limits(diff);
  tool.add_id_option(diff, "A VM's image instead of A (twice: instead of A and B)", true,
                     vmu::cli::Retry::none);
  vmu::cli::Table& diff_table = tool.add_table_options(
      diff,
      {{"CHANGE", "change"}, {"PATH", "path", Fit::truncate}, {"DETAIL", "detail", Fit::wrap}});
  tool.add_example(diff, "rootfs-inspect diff --id vm-good --id vm-bad --path /etc",
                   "What differs under /etc between a working VM's image and a failing one's.");

  CLI::App* check = tool.add_subcommand("check", "Preflight a systemd unit inside the image");
  check->add_option("IMAGE", image, "The ext2/3/4 image")->type_name("FILE");
  check->add_option("--unit", unit, "The unit to check, e.g. agent.service")
      ->required()
      ->type_name("NAME");
  check
      ->add_option("--require-env", require_env,
                   "KEY must reach the service's environment (repeatable)")
      ->type_name("KEY");
  tool.add_id_option(check, by_id, false, vmu::cli::Retry::none);
  vmu::cli::Table& check_table =
      tool.add_table_options(check,
                             {{"SEVERITY",
                               "severity",
                               Fit::keep,
                               false,
                               nullptr,
                               {{"error", "red"}, {"warning", "yellow"}}},
                              {"CODE", "code"},
                              {"UNIT", "unit"},
                              {"MESSAGE", "message", Fit::wrap}},
                             {"SEVERITY", "CODE", "MESSAGE"});
  tool.add_example(check, "rootfs-inspect check --id vm-3f9c2a1b --unit agent --require-env KEY",
                   "Would agent.service start in this VM, with KEY in its environment?");

  return tool.main(argc, argv, [&]() -> int {
    auto& log = tool.log();
    const vmu::State state = tool.state();
    // The images to read: from --id first, then the positionals; what is
    // left of the positionals is the PATH.
    std::vector<std::string> positional;
    for (auto* s : {&image, &image_b, &path})
      if (!s->empty()) positional.push_back(*s);
    std::vector<std::string> images;
    for (const auto& id : tool.ids()) images.push_back(vm_image(state, id));
    const std::size_t want_images = diff->parsed() ? 2 : 1;
    while (images.size() < want_images && !positional.empty()) {
      images.push_back(positional.front());
      positional.erase(positional.begin());
    }
    const std::string sub = app.get_subcommands().front()->get_name();
    if (images.size() < want_images)
      throw vmu::Error(vmu::Exit::usage, "usage",
                       fmt::format("rootfs-inspect {}: {} (or --id)", sub,
                                   want_images == 2 ? "give two images A and B" : "give IMAGE"));
    if (images.size() > want_images)
      throw vmu::Error(
          vmu::Exit::usage, "usage",
          fmt::format("rootfs-inspect {}: too many images ({} from --id)", sub, tool.ids().size()));
    const bool takes_path = ls->parsed() || cat->parsed() || st->parsed();
    if (positional.size() > (takes_path ? 1u : 0u))
      throw vmu::Error(
          vmu::Exit::usage, "usage",
          fmt::format("rootfs-inspect {}: unexpected argument '{}'", sub, positional.back()));
    const std::string guest_path = positional.empty() ? std::string() : positional.front();
    if ((cat->parsed() || st->parsed()) && guest_path.empty())
      throw vmu::Error(vmu::Exit::usage, "usage",
                       fmt::format("rootfs-inspect {}: give the PATH in the image", sub));

    if (ls->parsed()) {
      auto img = ins::open_for_inspection(images[0]);
      const bool table = ls_table.as_table();
      std::vector<nlohmann::json> rows;
      bool open = true;
      ins::list_tree(
          img, guest_path.empty() ? "/" : guest_path, recursive, limits, [&](const ins::Entry& e) {
            if (!open) return;
            if (table) {
              // Rows for the eye: the mode as ls shows it, the
              // symlink's target beside its name.
              nlohmann::json r = ins::stat_json(e.path, e.stat);
              r["mode"] = ins::mode_string(e.stat.type, e.stat.mode);
              r["path"] = shown_path(e);
              rows.push_back(std::move(r));
              return;
            }
            nlohmann::json j =
                long_fmt ? ins::stat_json(e.path, e.stat)
                         : nlohmann::json{{"path", e.path},
                                          {"type", std::string(vmu::ext4::type_word(e.stat.type))}};
            if (!long_fmt && e.stat.type == vmu::ext4::FileType::symlink)
              j["target"] = e.stat.symlink_target;
            open = ls_table.print({j});
          });
      if (table)
        open = long_fmt ? ls_table.print(rows, {"MODE", "UID", "GID", "SIZE", "MTIME", "PATH"})
                        : ls_table.print(rows);
      if (!open) tool.report_closed_stdout("the listing");
      return 0;
    }
    if (cat->parsed()) {
      auto img = ins::open_for_inspection(images[0]);
      bool open = true;
      ins::read_stream(img, guest_path,
                       [&](std::string_view chunk) { return open = write_all(chunk); });
      if (!open) tool.report_closed_stdout("cat");
      return 0;
    }
    if (st->parsed()) {
      auto img = ins::open_for_inspection(images[0]);
      auto s = img.stat(guest_path, deref ? vmu::ext4::Follow::yes : vmu::ext4::Follow::no);
      if (!s)
        throw vmu::Error(
            vmu::Exit::usage, "not_found",
            fmt::format("stat '{}' in image '{}': no such entry", guest_path, images[0]));
      const auto j = ins::stat_json(guest_path, *s);
      if (stdout_is_tty()) {
        for (const char* k :
             {"path", "type", "target", "mode", "uid", "gid", "size", "mtime", "links", "inode"})
          if (auto v = j.find(k); v != j.end())
            fmt::print("{:>6}: {}\n", k, v->is_string() ? v->get<std::string>() : v->dump());
      } else if (!vmu::LineWriter(STDOUT_FILENO).write(dump(j))) {
        tool.report_closed_stdout("stat");
      }
      return 0;
    }
    if (diff->parsed()) {
      auto a = ins::open_for_inspection(images[0]);
      auto b = ins::open_for_inspection(images[1]);
      const bool table = diff_table.as_table();
      std::vector<nlohmann::json> rows;
      bool open = true;
      const auto stats = ins::diff_images(a, b, {prefixes, limits}, [&](const ins::Difference& d) {
        if (!open) return;
        nlohmann::json j = d.json();
        if (table || !diff_table.options().columns.empty()) j["detail"] = d.detail();
        if (table)
          rows.push_back(std::move(j));
        else
          open = diff_table.print({j});
      });
      if (table) open = diff_table.print(rows);
      if (!open) tool.report_closed_stdout("the diff");
      log.info(
          "{} difference{}; {} entries looked at, {} same-size files compared ({:.1f} MiB "
          "read)",
          stats.differences, stats.differences == 1 ? "" : "s", stats.entries, stats.files_compared,
          static_cast<double>(stats.bytes_compared) / (1 << 20));
      return 0;
    }
    // check
    auto img = ins::open_for_inspection(images[0]);
    const auto findings = ins::check_unit(img, {unit, require_env});
    std::vector<nlohmann::json> rows;
    for (const auto& f : findings) rows.push_back(f.json());
    if (!check_table.print(rows)) tool.report_closed_stdout("the findings");
    const std::string name = findings.empty() ? unit : findings.front().unit;
    if (ins::has_errors(findings)) {
      log.error("{} in '{}': {}", name, images[0], ins::summary(findings));
      return static_cast<int>(vmu::Exit::guest_failed);
    }
    log.info("{} in '{}': {}", name, images[0], ins::summary(findings));
    return 0;
  });
}
