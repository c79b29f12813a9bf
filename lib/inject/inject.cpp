#include "inject/inject.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ext4/image.hpp"
#include "image/lock.hpp"
#include "inject/env.hpp"
#include "inject/journal.hpp"
#include "inject/reporter.hpp"
#include "inject/sha256.hpp"
#include "inject/unit.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace vmu::inject {

namespace {

constexpr std::size_t kMaxEntries = 100000;      // files a --copy of a folder may hold
constexpr std::size_t kMaxUnitBytes = 1u << 20;  // a unit file
constexpr std::size_t kMaxEnvTargetBytes = 1u << 20;

// One concrete change to the image.
struct Action {
  enum class Kind { dir, file, symlink, env } kind = Kind::file;
  std::string guest;
  ext4::Attrs attrs;
  bool set_attrs = true;      // dir: apply attrs (--mkdir, copied folders)
  std::filesystem::path src;  // file: host source (empty: `data`)
  std::string data;           // file from memory (unit), env: merged contents
  std::uint64_t size = 0;
  std::string target;     // symlink
  bool recorded = false;  // listed in agent.files
  std::string from;       // the option that asked for it, for messages
};

std::string mode_str(std::uint32_t mode) {
  return fmt::format("{:04o}", mode);
}

[[noreturn]] void bad_source(const std::string& what, const std::filesystem::path& p, int err) {
  throw Error(Exit::usage, "bad_source",
              fmt::format("{}: source '{}': {}", what, p.string(), std::strerror(err)));
}

// Opens a host file for reading, so "readable" is checked, not guessed.
void check_readable(const std::string& what, const std::filesystem::path& p, bool dir) {
  if (!dir) {
    try {
      open_regular(p, O_RDONLY, what + ": source");
    } catch (const Error& e) {
      throw Error(Exit::usage, "bad_source", e.what());
    }
    return;
  }
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY));
  if (!fd) bad_source(what, p, errno);
}

// Streams a host file, hashing what it reads.
class HostReader : public ext4::Reader {
 public:
  explicit HostReader(const std::filesystem::path& p, const ProgressFn& progress = {})
      : path_(p), fd_(open_regular(p, O_RDONLY, "source")), progress_(progress) {
    if (progress_) {
      total_ = size().value_or(0);
      report(progress_, "copying into the image", path_.string(), 0, total_);
    }
  }
  std::size_t read(char* buf, std::size_t n) override {
    for (;;) {
      ssize_t got = ::read(fd_.get(), buf, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw sys_error(fmt::format("reading '{}'", path_.string()), errno);
      hash_.update(std::string_view(buf, static_cast<std::size_t>(got)));
      done_ += static_cast<std::uint64_t>(got);
      const bool last = got == 0 || done_ >= total_;
      if (progress_ && !finished_ && (last || done_ - shown_ >= (4u << 20))) {
        shown_ = done_;
        finished_ = last;
        report(progress_, "copying into the image", path_.string(), done_, std::max(total_, done_));
      }
      return static_cast<std::size_t>(got);
    }
  }
  std::optional<std::uint64_t> size() const override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return static_cast<std::uint64_t>(st.st_size);
  }
  std::string hex() { return hash_.hex(); }

 private:
  std::filesystem::path path_;
  Fd fd_;
  Sha256 hash_;
  ProgressFn progress_;
  std::uint64_t total_ = 0, done_ = 0, shown_ = 0;
  bool finished_ = false;
};

class Planner {
 public:
  Planner(const Request& req, Result& res) : req_(req), res_(res) {}

  // Host-side expansion and checks: no image needed.
  void expand() {
    for (const auto& m : req_.mkdirs) {
      Action a;
      a.kind = Action::Kind::dir;
      a.guest = m.path;
      a.attrs = {m.mode, 0, 0};
      a.from = fmt::format("--mkdir '{}'", m.path);
      add(std::move(a));
    }
    for (const auto& c : req_.copies) expand_copy(c);
    for (const auto& s : req_.symlinks) {
      Action a;
      a.kind = Action::Kind::symlink;
      a.guest = s.link;
      a.target = s.target;
      a.from = fmt::format("--symlink '{}:{}'", s.target, s.link);
      add(std::move(a));
    }
    for (const auto& u : req_.units) expand_unit(u);
    if (req_.reporter) expand_reporter(*req_.reporter);
    if (req_.persist_journal) {
      Action a;
      a.kind = Action::Kind::file;
      a.guest = std::string(kJournalDropin);
      a.data = journal_dropin();
      a.size = a.data.size();
      a.attrs = {0644, 0, 0};
      a.from = "--persist-journal";
      add(std::move(a));
      res_.journal = journal_json();
    }
    if (!req_.env.empty()) {
      Action a;
      a.kind = Action::Kind::env;
      a.guest = req_.env_target;
      a.from = "--env";
      add(std::move(a));
      for (const auto& name : service_units_without_env_file_)
        res_.warnings.push_back(fmt::format(
            "unit '{}' does not load {} (no EnvironmentFile={} in [Service]): systemd services "
            "do not read it by themselves, so the injected keys will not reach the service",
            name, req_.env_target, req_.env_target));
    }
  }

  std::vector<Action>& actions() { return actions_; }
  std::vector<std::string>& unit_names() { return unit_names_; }
  std::map<std::string, std::vector<std::string>>& unit_enabled_in() { return enabled_in_; }

 private:
  void add(Action a) {
    auto [it, fresh] = kinds_.emplace(a.guest, a.kind);
    if (!fresh) {
      const bool same_dir = it->second == Action::Kind::dir && a.kind == Action::Kind::dir;
      if (!same_dir)
        throw Error(
            Exit::usage, "conflict",
            fmt::format("{}: guest path '{}' is written twice in one run", a.from, a.guest));
    }
    actions_.push_back(std::move(a));
  }

  void expand_copy(const CopyOp& c) {
    const std::string what = fmt::format("--copy '{}:{}'", c.src.string(), c.dest);
    struct stat st {};
    if (::stat(c.src.c_str(), &st) != 0) bad_source(what, c.src, errno);
    std::string dest = c.dest;
    if (dest.size() > 1 && dest.back() == '/') {
      const std::string base = c.src.filename().empty() ? c.src.parent_path().filename().string()
                                                        : c.src.filename().string();
      dest = check_guest_path(dest + base, what);
    } else if (dest == "/" && !S_ISDIR(st.st_mode)) {
      dest = check_guest_path("/" + c.src.filename().string(), what);
    }
    const std::uint32_t uid = c.uid.value_or(0), gid = c.gid.value_or(0);
    auto file_action = [&](const std::filesystem::path& p, const struct stat& s,
                           const std::string& guest) {
      check_readable(what, p, false);
      Action a;
      a.kind = Action::Kind::file;
      a.guest = guest;
      a.src = p;
      a.size = static_cast<std::uint64_t>(s.st_size);
      a.attrs = {c.mode.value_or(s.st_mode & 07777), uid, gid};
      a.recorded = true;
      a.from = what;
      add(std::move(a));
    };
    if (S_ISREG(st.st_mode)) {
      file_action(c.src, st, dest);
      return;
    }
    if (!S_ISDIR(st.st_mode))
      throw Error(
          Exit::usage, "bad_source",
          fmt::format("{}: source '{}' is neither a file nor a folder", what, c.src.string()));
    check_readable(what, c.src, true);
    // A folder of the copy, with the source's mode and the requested owner.
    auto add_dir = [&](const std::string& guest, mode_t mode) {
      Action a;
      a.kind = Action::Kind::dir;
      a.guest = guest;
      a.attrs = {mode & 07777, uid, gid};
      a.from = what;
      add(std::move(a));
    };
    add_dir(dest, st.st_mode);
    // Sorted, so the same folder always gives the same actions.
    std::vector<std::filesystem::path> entries;
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(c.src, ec), end;
    if (ec) bad_source(what, c.src, ec.value());
    for (; it != end; it.increment(ec)) {
      if (ec) bad_source(what, c.src, ec.value());
      entries.push_back(it->path());
      if (entries.size() > kMaxEntries)
        throw Error(
            Exit::usage, "too_many_files",
            fmt::format("{}: more than {} entries in '{}'", what, kMaxEntries, c.src.string()));
    }
    if (ec) bad_source(what, c.src, ec.value());
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries) {
      const std::string guest =
          check_guest_path(dest + "/" + p.lexically_relative(c.src).string(), what);
      struct stat s {};
      if (::lstat(p.c_str(), &s) != 0) bad_source(what, p, errno);
      if (S_ISREG(s.st_mode)) {
        file_action(p, s, guest);
      } else if (S_ISDIR(s.st_mode)) {
        check_readable(what, p, true);
        add_dir(guest, s.st_mode);
      } else if (S_ISLNK(s.st_mode)) {
        Action a;
        a.kind = Action::Kind::symlink;
        a.guest = guest;
        a.target = std::filesystem::read_symlink(p, ec).string();
        if (ec) bad_source(what, p, ec.value());
        a.attrs = {0777, uid, gid};
        a.from = what;
        add(std::move(a));
      } else {
        throw Error(Exit::usage, "bad_source",
                    fmt::format("{}: '{}' is a special file (device, FIFO or socket); refusing "
                                "to copy it",
                                what, p.string()));
      }
    }
  }

  void expand_unit(const std::filesystem::path& src) {
    const std::string what = fmt::format("--unit '{}'", src.string());
    const std::string name = src.filename().string();
    if (!valid_unit_name(name))
      throw Error(
          Exit::usage, "bad_unit",
          fmt::format("{}: '{}' is not a systemd unit file name (e.g. agent.service)", what, name));
    std::string text;
    try {
      text = read_file(src, kMaxUnitBytes);
    } catch (const Error& e) {
      throw Error(Exit::usage, "bad_source", fmt::format("{}: {}", what, e.what()));
    }
    UnitInstall install = parse_unit(text, src.string());
    Action f;
    f.kind = Action::Kind::file;
    f.guest = fmt::format("{}/{}", kUnitDir, name);
    f.size = text.size();
    f.data = std::move(text);
    f.attrs = {0644, 0, 0};
    f.from = what;
    add(std::move(f));
    auto links = enable_links(name, install, res_.warnings);
    std::vector<std::string> enabled_in;
    for (auto& l : links) {
      Action a;
      a.kind = Action::Kind::symlink;
      a.guest = l.link;
      a.target = l.target;
      a.attrs = {0777, 0, 0};
      a.from = what;
      add(std::move(a));
      if (!l.enabled_in.empty()) enabled_in.push_back(l.enabled_in);
    }
    unit_names_.push_back(name);
    enabled_in_[name] = std::move(enabled_in);
    if (name.ends_with(".service") &&
        std::find(install.environment_files.begin(), install.environment_files.end(),
                  req_.env_target) == install.environment_files.end())
      service_units_without_env_file_.push_back(name);
  }

  // The reporter: its script, its unit (for the agent units: the given
  // ones, else those of this run), enabled in multi-user.target.
  void expand_reporter(ReporterSpec spec) {
    if (spec.units.empty()) spec.units = unit_names_;
    const std::string what = "--reporter";
    Action script;
    script.kind = Action::Kind::file;
    script.guest = std::string(kReporterScript);
    script.data = std::string(reporter_script());
    script.size = script.data.size();
    script.attrs = {0755, 0, 0};
    script.from = what;
    add(std::move(script));
    Action unit;
    unit.kind = Action::Kind::file;
    unit.guest = fmt::format("{}/{}", kUnitDir, kReporterUnit);
    unit.data = reporter_unit(spec);
    unit.size = unit.data.size();
    unit.attrs = {0644, 0, 0};
    unit.from = what;
    add(std::move(unit));
    Action link;
    link.kind = Action::Kind::symlink;
    link.guest = fmt::format("{}/multi-user.target.wants/{}", kUnitDir, kReporterUnit);
    link.target = fmt::format("{}/{}", kUnitDir, kReporterUnit);
    link.attrs = {0777, 0, 0};
    link.from = what;
    add(std::move(link));
    res_.reporter = reporter_json(spec);
  }

  const Request& req_;
  Result& res_;
  std::vector<Action> actions_;
  std::map<std::string, Action::Kind> kinds_;
  std::vector<std::string> unit_names_;
  std::map<std::string, std::vector<std::string>> enabled_in_;
  std::vector<std::string> service_units_without_env_file_;
};

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

// Image-side checks for every action, and the space estimate. Reads only.
void validate(ext4::Image& img, std::vector<Action>& actions, const Request& req, Result& res) {
  const std::uint64_t bs = img.block_size();
  std::uint64_t blocks = 0, inodes = 0, credit = 0, entries = 0;
  // Blocks to map `n` data blocks: extent index or indirect blocks, generously.
  auto mapped = [&](std::uint64_t size) {
    const std::uint64_t data = ceil_div(size, bs);
    return data + (data ? data / (bs / 4) + 2 : 0);
  };
  // Folders that earlier actions will create: counted once, not once per
  // file below them (4,100 files in one new folder were estimated at twice
  // their inodes).
  std::set<std::string> planned;
  for (auto& a : actions) {
    const ext4::Resolution r = img.resolve_for_create(a.guest);
    const bool exists = r.existing.has_value();
    if (!exists) {
      // The missing folders are the last `missing_dirs` ancestors of a.guest.
      std::vector<std::string> ancestors;
      for (auto slash = a.guest.rfind('/'); slash != 0 && slash != std::string::npos;
           slash = a.guest.rfind('/', slash - 1))
        ancestors.push_back(a.guest.substr(0, slash));
      for (std::size_t i = 0; i < r.missing_dirs && i < ancestors.size(); ++i)
        if (planned.insert(ancestors[i]).second) {
          inodes += 1;
          blocks += 1;  // a block per new folder
          entries += 1;
        }
      if (planned.insert(a.guest).second || a.kind != Action::Kind::dir) {
        inodes += 1;
        entries += 1;
      }
    }
    auto refuse = [&](const ext4::Stat& st, std::string_view as) {
      throw Error(Exit::usage, "exists",
                  fmt::format("{}: '{}' exists in the image as a {}; refusing to replace it with "
                              "a {}",
                              a.from, a.guest, ext4::type_word(st.type), as));
    };
    switch (a.kind) {
      case Action::Kind::dir: {
        auto st = exists ? img.stat(a.guest, ext4::Follow::yes) : std::nullopt;
        if (exists && !st)
          throw Error(
              Exit::usage, "dangling_symlink",
              fmt::format("{}: '{}' is a symlink to nothing in the image", a.from, a.guest));
        if (st && st->type != ext4::FileType::directory) refuse(*st, "folder");
        if (!exists) blocks += 1;
        break;
      }
      case Action::Kind::file:
      case Action::Kind::env: {
        std::optional<ext4::Stat> st = r.existing;
        if (exists && st->type == ext4::FileType::symlink) {
          st = img.stat(a.guest, ext4::Follow::yes);
          if (!st) {  // a dangling symlink: the file (and folders) appear where it points
            inodes += 4;
            blocks += 4;
          }
        }
        if (st && st->type != ext4::FileType::regular) refuse(*st, "file");
        if (a.kind == Action::Kind::env) {
          std::string existing;
          if (st) existing = img.read_file(a.guest, kMaxEnvTargetBytes);
          // It holds secrets now: root's, whatever the golden's file was.
          a.attrs = {req.env_mode, 0, 0};
          if (st && (st->mode & 07777) != req.env_mode)
            res.warnings.push_back(fmt::format(
                "{} was {} {}:{} in the image; it is now {} root:root, as it holds the injected "
                "values (--env-mode to choose another mode)",
                a.guest, mode_str(st->mode & 07777), st->uid, st->gid, mode_str(req.env_mode)));
          a.data = merge_env(existing, req.env);
          a.size = a.data.size();
        }
        blocks += mapped(a.size);
        if (st) credit += ceil_div(st->size, bs);
        break;
      }
      case Action::Kind::symlink: {
        if (exists && r.existing->type != ext4::FileType::symlink) refuse(*r.existing, "symlink");
        if (a.target.size() >= bs)
          throw Error(Exit::usage, "bad_symlink",
                      fmt::format("{}: the target of '{}' is {} bytes; this image's limit is {}",
                                  a.from, a.guest, a.target.size(), bs - 1));
        if (a.target.size() >= 60) blocks += 1;
        break;
      }
    }
  }
  blocks += ceil_div(entries * 72, bs) + 4;  // directory growth
  blocks += blocks / 100 + 16;               // margin
  res.blocks_needed = blocks;
  res.inodes_needed = inodes;
  const ext4::Space sp = img.space();
  const std::uint64_t free_blocks = sp.blocks_free + credit;
  if (blocks > free_blocks || inodes > sp.inodes_free)
    throw Error(Exit::exhausted, "image_full",
                fmt::format("image '{}' has no room for this injection: it needs about {} KiB "
                            "({} blocks of {} bytes) and {} inodes, and has {} KiB ({} blocks) "
                            "and {} inodes free; grow it (rootfs-clone --size) or inject less",
                            img.path().string(), blocks * bs / 1024, blocks, bs, inodes,
                            free_blocks * bs / 1024, free_blocks, sp.inodes_free));
}

std::string owner_str(const ext4::Attrs& a) {
  return fmt::format("{} {}:{}", mode_str(a.mode), a.uid, a.gid);
}

std::vector<std::string> plan_lines(const std::vector<Action>& actions, const Request& req,
                                    const Result& res, const ext4::Space& sp) {
  std::vector<std::string> out;
  for (const auto& a : actions) {
    switch (a.kind) {
      case Action::Kind::dir:
        out.push_back(fmt::format("mkdir    {} ({})", a.guest, owner_str(a.attrs)));
        break;
      case Action::Kind::file:
        out.push_back(fmt::format("write    {} ({}, {} bytes, from {})", a.guest,
                                  owner_str(a.attrs), a.size,
                                  a.src.empty() ? a.from : a.src.string()));
        break;
      case Action::Kind::symlink:
        out.push_back(fmt::format("symlink  {} -> {}", a.guest, a.target));
        break;
      case Action::Kind::env: {
        std::string keys;
        for (const auto& k : env_keys(req.env)) keys += (keys.empty() ? "" : ", ") + k;
        out.push_back(fmt::format("env      {} ({}): set {} (values not shown)", a.guest,
                                  owner_str(a.attrs), keys));
        break;
      }
    }
  }
  out.push_back(
      fmt::format("space    about {} blocks and {} inodes needed; {} blocks and {} "
                  "inodes free",
                  res.blocks_needed, res.inodes_needed, sp.blocks_free, sp.inodes_free));
  return out;
}

}  // namespace

nlohmann::json Result::agent_json() const {
  nlohmann::json files_j = nlohmann::json::array();
  for (const auto& f : files)
    files_j.push_back({{"path", f.path},
                       {"mode", mode_str(f.mode)},
                       {"uid", f.uid},
                       {"gid", f.gid},
                       {"size", f.size},
                       {"sha256", f.sha256}});
  nlohmann::json units_j = nlohmann::json::array();
  for (const auto& u : units) units_j.push_back({{"name", u.name}, {"enabled_in", u.enabled_in}});
  nlohmann::json j = {{"files", files_j}, {"units", units_j}};
  if (env_file) {
    j["env_file"] = *env_file;
    j["env_mode"] = mode_str(env_mode);
  }
  j["env_keys"] = env_keys;
  if (reporter) j["reporter"] = *reporter;
  if (journal) j["journal"] = *journal;
  return j;
}

namespace {

// `before`'s entries, the ones whose `key` fresh also has replaced in place,
// then fresh's new ones.
nlohmann::json merge_by(const nlohmann::json& before, const nlohmann::json& fresh,
                        const char* key) {
  if (!before.is_array()) return fresh;
  if (!fresh.is_array()) return before;
  auto name = [&](const nlohmann::json& e) -> std::optional<std::string> {
    if (auto k = e.find(key); e.is_object() && k != e.end() && k->is_string())
      return k->get<std::string>();
    return std::nullopt;
  };
  std::map<std::string, const nlohmann::json*> fresh_by;
  for (const auto& e : fresh)
    if (auto n = name(e)) fresh_by[*n] = &e;
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> done;
  for (const auto& e : before) {
    auto n = name(e);
    if (n && fresh_by.count(*n)) {
      if (done.insert(*n).second) out.push_back(*fresh_by[*n]);
    } else if (!n || done.insert(*n).second) {
      out.push_back(e);
    }
  }
  for (const auto& e : fresh) {
    auto n = name(e);
    if (!n || done.insert(*n).second) out.push_back(e);
  }
  return out;
}

}  // namespace

nlohmann::json merge_agent(const nlohmann::json& before, const nlohmann::json& fresh) {
  if (!before.is_object()) return fresh;
  nlohmann::json out = before;
  for (auto it = fresh.begin(); it != fresh.end(); ++it) {
    const auto& k = it.key();
    if (k == "units") {
      out[k] = merge_by(before.value(k, nlohmann::json()), *it, "name");
    } else if (k == "files") {
      out[k] = merge_by(before.value(k, nlohmann::json()), *it, "path");
    } else if (k == "env_keys" && it->is_array()) {
      nlohmann::json keys = before.value(k, nlohmann::json::array());
      if (!keys.is_array()) keys = nlohmann::json::array();
      for (const auto& x : *it)
        if (std::find(keys.begin(), keys.end(), x) == keys.end()) keys.push_back(x);
      out[k] = std::move(keys);
    } else {
      out[k] = *it;
    }
  }
  return out;
}

Result inject(const std::filesystem::path& image, const Request& req, const Options& opts) {
  if (req.empty())
    throw Error(Exit::usage, "nothing_to_do",
                "nothing to inject: give --copy, --mkdir, --symlink, --unit, --env, --env-file "
                "or --spec");
  Result res;
  // 1. Host side: sources, names, modes; nothing touches the image yet.
  Planner planner(req, res);
  planner.expand();
  auto& actions = planner.actions();

  // 2. The image: locked for the whole run, then checked read-only.
  FileLock lock = lock_image(image, ImageAccess::read_write, "injecting into");
  ext4::Image img = ext4::Image::open(image, ext4::Access::read_write);
  try {
    validate(img, actions, req, res);
  } catch (...) {
    img.discard();
    throw;
  }
  res.plan = plan_lines(actions, req, res, img.space());
  if (opts.dry_run) {
    img.discard();
    return res;
  }
  if (opts.stop && opts.stop()) {
    img.discard();
    throw Error(Exit::interrupted, "interrupted",
                fmt::format("injecting into '{}': interrupted before anything was written; the "
                            "image is unchanged",
                            image.string()));
  }

  // 3. Apply, in order.
  for (auto& a : actions) {
    switch (a.kind) {
      case Action::Kind::dir:
        img.make_dirs(a.guest, a.set_attrs ? std::optional(a.attrs) : std::nullopt);
        break;
      case Action::Kind::file:
      case Action::Kind::env:
        if (!a.src.empty()) {
          HostReader in(a.src, opts.progress);
          const std::uint64_t n = img.write_file(a.guest, in, a.attrs);
          if (a.recorded)
            res.files.push_back({a.guest, a.attrs.mode, a.attrs.uid, a.attrs.gid, n, in.hex()});
        } else {
          ext4::MemoryReader in(a.data);
          img.write_file(a.guest, in, a.attrs);
        }
        break;
      case Action::Kind::symlink:
        img.symlink(a.target, a.guest, a.attrs.uid, a.attrs.gid);
        break;
    }
  }
  // 4. Out to disk (fsync), before the record says it is there.
  img.close();
  res.applied = true;
  for (const auto& name : planner.unit_names())
    res.units.push_back({name, planner.unit_enabled_in()[name]});
  if (!req.env.empty()) {
    res.env_file = req.env_target;
    res.env_mode = req.env_mode;
    res.env_keys = env_keys(req.env);
  }
  return res;
}

void refuse_golden(const std::filesystem::path& image,
                   const std::vector<std::filesystem::path>& goldens) {
  std::error_code ec;
  const auto canon = std::filesystem::weakly_canonical(image, ec);
  for (const auto& g : goldens) {
    std::error_code ec2;
    const bool same = std::filesystem::equivalent(image, g, ec2) ||
                      (!ec && canon == std::filesystem::weakly_canonical(g, ec2));
    if (same)
      throw Error(Exit::usage, "golden_image",
                  fmt::format("refusing to inject into '{}': it is a golden image (a record "
                              "names it as rootfs.golden); inject into a clone (rootfs-clone)",
                              image.string()));
  }
}

std::vector<std::filesystem::path> known_goldens(const State& state) {
  std::vector<std::filesystem::path> out;
  std::vector<std::string> ids;
  try {
    ids = state.list_ids();
  } catch (const Error&) {
    return out;
  }
  for (const auto& id : ids) {
    try {
      auto rec = state.load_if_exists(id);
      if (!rec) continue;
      const auto& rootfs = rec->get("rootfs");
      if (auto it = rootfs.find("golden"); it != rootfs.end() && it->is_string())
        out.emplace_back(it->get<std::string>());
    } catch (const Error&) {
      // an unreadable record names no golden; it is not ours to judge here
    }
  }
  return out;
}

}  // namespace vmu::inject
