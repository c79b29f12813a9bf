// rootfs-inspect: look inside an ext4 image without mounting it (ls, cat,
// stat), diff two images, and preflight a systemd unit in one.
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "cli/table.hpp"
#include "cli/tool.hpp"
#include "inspect/check.hpp"
#include "inspect/diff.hpp"
#include "inspect/tree.hpp"
#include "record/jsonl.hpp"

namespace {

namespace ins = vmu::inspect;

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

}  // namespace

int main(int argc, char** argv) {
  vmu::cli::Tool tool("rootfs-inspect",
                      "Look inside an ext4 image read-only: ls, cat, stat, diff two images, "
                      "check a unit.");
  auto& app = tool.app();
  app.require_subcommand(1, 1);
  ins::Limits limits;

  std::string image, path = "/", image_b;
  bool long_fmt = false, recursive = false, deref = false;
  std::vector<std::string> prefixes, require_env;
  std::string unit;

  // Digits only: CLI11 alone turned --max-entries -1 into 2^64-1.
  const CLI::Validator count(
      [](std::string& v) -> std::string {
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
            v == "0")
          return fmt::format("'{}' is not a number from 1 to 999999999", v);
        return {};
      },
      "");
  auto add_limits = [&](CLI::App* sub) {
    sub->add_option("--max-entries", limits.max_entries, "Stop with an error past N entries")
        ->type_name("N")
        ->capture_default_str()
        ->check(count);
    sub->add_option("--max-depth", limits.max_depth, "Stop with an error past N folders deep")
        ->type_name("N")
        ->capture_default_str()
        ->check(count);
  };

  CLI::App* ls = tool.add_subcommand("ls", "List a folder of the image (JSON Lines or a table)");
  ls->add_option("IMAGE", image, "The ext2/3/4 image")->required()->type_name("FILE");
  ls->add_option("PATH", path, "Folder or file in the image (default /)")->type_name("PATH");
  ls->add_flag("-l,--long", long_fmt, "Mode, owner, size and time of each entry");
  ls->add_flag("-R,--recursive", recursive, "List sub-folders too (symlinks not followed)");
  add_limits(ls);

  CLI::App* cat = tool.add_subcommand("cat", "Write a file of the image to stdout, as is");
  cat->add_option("IMAGE", image, "The ext2/3/4 image")->required()->type_name("FILE");
  cat->add_option("PATH", path, "File in the image (symlinks followed)")
      ->required()
      ->type_name("PATH");

  CLI::App* st = tool.add_subcommand("stat", "Type, mode, owner, size and times of an entry");
  st->add_option("IMAGE", image, "The ext2/3/4 image")->required()->type_name("FILE");
  st->add_option("PATH", path, "Entry in the image")->required()->type_name("PATH");
  st->add_flag("-L,--dereference", deref, "Follow a symlink at PATH");

  CLI::App* diff = tool.add_subcommand("diff", "What differs between two images");
  diff->add_option("A", image, "The first image (e.g. a working VM's)")
      ->required()
      ->type_name("FILE");
  diff->add_option("B", image_b, "The second image (e.g. a failing VM's)")
      ->required()
      ->type_name("FILE");
  diff->add_option("--path", prefixes, "Compare only under PREFIX (repeatable)")
      ->type_name("PREFIX");
  add_limits(diff);

  CLI::App* check = tool.add_subcommand("check", "Preflight a systemd unit inside the image");
  check->add_option("IMAGE", image, "The ext2/3/4 image")->required()->type_name("FILE");
  check->add_option("--unit", unit, "The unit to check, e.g. agent.service")
      ->required()
      ->type_name("NAME");
  check
      ->add_option("--require-env", require_env,
                   "KEY must reach the service's environment (repeatable)")
      ->type_name("KEY");

  return tool.main(argc, argv, [&]() -> int {
    auto& log = tool.log();
    if (ls->parsed()) {
      auto img = ins::open_for_inspection(image);
      const bool tty = stdout_is_tty();
      vmu::LineWriter out(STDOUT_FILENO);
      std::vector<nlohmann::json> rows;
      bool open = true;
      ins::list_tree(img, path, recursive, limits, [&](const ins::Entry& e) {
        if (!open) return;
        if (tty) {
          if (long_fmt)
            rows.push_back({{"mode", ins::mode_string(e.stat.type, e.stat.mode)},
                            {"uid", e.stat.uid},
                            {"gid", e.stat.gid},
                            {"size", e.stat.size},
                            {"mtime", ins::stat_json(e.path, e.stat)["mtime"]},
                            {"path", shown_path(e)}});
          else
            rows.push_back({{"path", shown_path(e)}});
          return;
        }
        nlohmann::json j =
            long_fmt ? ins::stat_json(e.path, e.stat)
                     : nlohmann::json{{"path", e.path},
                                      {"type", std::string(vmu::ext4::type_word(e.stat.type))}};
        if (!long_fmt && e.stat.type == vmu::ext4::FileType::symlink)
          j["target"] = e.stat.symlink_target;
        open = out.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      });
      if (tty) {
        if (long_fmt)
          vmu::cli::print_rows(rows,
                               {{"MODE", "mode"},
                                {"UID", "uid"},
                                {"GID", "gid"},
                                {"SIZE", "size"},
                                {"MTIME", "mtime"},
                                {"PATH", "path"}},
                               true);
        else
          for (const auto& r : rows) fmt::print("{}\n", r["path"].get<std::string>());
      }
      return 0;
    }
    if (cat->parsed()) {
      auto img = ins::open_for_inspection(image);
      ins::read_stream(img, path, [](std::string_view chunk) { return write_all(chunk); });
      return 0;
    }
    if (st->parsed()) {
      auto img = ins::open_for_inspection(image);
      auto s = img.stat(path, deref ? vmu::ext4::Follow::yes : vmu::ext4::Follow::no);
      if (!s)
        throw vmu::Error(vmu::Exit::usage, "not_found",
                         fmt::format("stat '{}' in image '{}': no such entry", path, image));
      const auto j = ins::stat_json(path, *s);
      if (stdout_is_tty()) {
        for (const char* k :
             {"path", "type", "target", "mode", "uid", "gid", "size", "mtime", "links", "inode"})
          if (auto v = j.find(k); v != j.end())
            fmt::print("{:>6}: {}\n", k, v->is_string() ? v->get<std::string>() : v->dump());
      } else {
        vmu::LineWriter(STDOUT_FILENO)
            .write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      return 0;
    }
    if (diff->parsed()) {
      auto a = ins::open_for_inspection(image);
      auto b = ins::open_for_inspection(image_b);
      const bool tty = stdout_is_tty();
      vmu::LineWriter out(STDOUT_FILENO);
      bool open = true;
      const auto stats = ins::diff_images(a, b, {prefixes, limits}, [&](const ins::Difference& d) {
        if (!open) return;
        open = tty ? (fmt::print("{}\n", d.text()), true)
                   : out.write(
                         d.json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      });
      if (tty) std::fflush(stdout);
      log.info(
          "{} difference{}; {} entries looked at, {} same-size files compared ({:.1f} MiB "
          "read)",
          stats.differences, stats.differences == 1 ? "" : "s", stats.entries, stats.files_compared,
          static_cast<double>(stats.bytes_compared) / (1 << 20));
      return 0;
    }
    // check
    auto img = ins::open_for_inspection(image);
    const auto findings = ins::check_unit(img, {unit, require_env});
    if (stdout_is_tty()) {
      std::vector<nlohmann::json> rows;
      for (const auto& f : findings) rows.push_back(f.json());
      vmu::cli::print_rows(
          rows, {{"SEVERITY", "severity"}, {"CODE", "code"}, {"MESSAGE", "message"}}, true);
    } else {
      vmu::LineWriter out(STDOUT_FILENO);
      for (const auto& f : findings)
        if (!out.write(f.json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
          break;
    }
    const std::string name = findings.empty() ? unit : findings.front().unit;
    if (ins::has_errors(findings)) {
      log.error("{} in '{}': {}", name, image, ins::summary(findings));
      return static_cast<int>(vmu::Exit::guest_failed);
    }
    log.info("{} in '{}': {}", name, image, ins::summary(findings));
    return 0;
  });
}
