#include "evidence/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "diagnose/lines.hpp"
#include "diagnose/offline.hpp"
#include "evidence/image_replay.hpp"
#include "evidence/journal.hpp"
#include "evidence/redact.hpp"
#include "evidence/secrets.hpp"
#include "evidence/staging.hpp"
#include "ext4/image.hpp"
#include "inject/sha256.hpp"
#include "inspect/check.hpp"
#include "inspect/units.hpp"
#include "net/hoststate.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/proc.hpp"
#include "util/time.hpp"
#include "version.hpp"
#include "vmm/stop.hpp"

namespace vmu::evidence {

namespace {

constexpr std::size_t kMaxImageText = 1u << 20;  // a unit file, the env file

const Json* object_of(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}
std::string string_of(const Json* j, const char* key) {
  if (!j) return {};
  auto it = j->find(key);
  return it != j->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> json_strings(const Json* j, const char* key) {
  std::vector<std::string> out;
  if (!j) return out;
  auto it = j->find(key);
  if (it == j->end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool safe_member_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (const auto& part : fs::path(p))
    if (part == "..") return false;
  return true;
}

}  // namespace

nlohmann::json Member::to_json() const {
  nlohmann::json j = {{"name", name}, {"size", size}, {"sha256", sha256}, {"source", source}};
  if (truncated) j["truncated"] = true;
  return j;
}

nlohmann::json ArchiveResult::section() const {
  nlohmann::json miss = nlohmann::json::array();
  for (const auto& m : missing) miss.push_back(m.item);
  return {{"path", path.string()},
          {"size", size},
          {"sha256", sha256},
          {"created", created},
          {"members", members.size()},
          {"missing", miss},
          {"redacted_keys", redacted_keys}};
}

nlohmann::json manifest_json(const std::string& id, const std::string& created,
                             const std::string& made_by, const std::vector<Member>& members,
                             const std::vector<Missing>& missing,
                             const std::vector<std::string>& redacted_keys,
                             const std::vector<std::string>& short_keys,
                             const std::vector<std::string>& absent_keys,
                             std::uint64_t replacements, const nlohmann::json& image) {
  nlohmann::json ms = nlohmann::json::array();
  for (const auto& m : members) ms.push_back(m.to_json());
  nlohmann::json miss = nlohmann::json::array();
  for (const auto& m : missing) miss.push_back({{"item", m.item}, {"why", m.why}});
  return {{"v", 1},
          {"id", id},
          {"created", created},
          {"made_by", made_by},
          {"members", ms},
          {"missing", miss},
          {"image", image},
          {"redaction",
           {{"keys", redacted_keys},
            {"short", short_keys},
            {"absent", absent_keys},
            {"min_bytes", kMinRedactBytes},
            {"replacements", replacements}}},
          {"note",
           "manifest.json does not list itself; the archive's own SHA-256 is in the record's "
           "archive section"}};
}

ArchiveResult make_archive(const Record& rec, const State& st, const ArchiveOptions& opts) {
  auto check_stop = [&] {
    if (opts.stop && opts.stop()) throw Error(Exit::interrupted, "interrupted");
  };
  const Json& j = rec.json();
  const Json* net = object_of(j, "net");
  const Json* vmm = object_of(j, "vmm");
  const Json* agent = object_of(j, "agent");
  const Json* rootfs = object_of(j, "rootfs");
  const std::string id = rec.id();
  std::vector<Missing> missing;

  const fs::path out_dir = opts.out_dir.empty() ? st.archive_dir() : opts.out_dir;
  make_dirs(out_dir, 0750);
  remove_stale(out_dir);

  // 1. The image, read-only (a running VM's too), in a private work folder.
  Staging work(out_dir, {});
  const std::string rootfs_path = string_of(rootfs, "path");
  OpenedImage opened;
  if (rootfs_path.empty())
    opened.problem = "the record names no rootfs (rootfs.path)";
  else
    opened = open_image(rootfs_path, work.dir(), opts.stop, opts.progress);
  std::optional<ext4::Image>& img = opened.img;
  const std::string& image_problem = opened.problem;
  const std::string img_note = opened.note;
  if (!img) missing.push_back({"rootfs", image_problem});

  // 2. What to redact: the values of agent.env_keys and --redact, from the
  //    image's env file (fail closed).
  const Secrets secrets =
      read_secrets(j, opts.redact, img ? &*img : nullptr, image_problem, "archive");
  const RuleSet& rules = secrets.rules;
  const std::string& env_path = secrets.env_path;
  const std::optional<std::string>& env_text = secrets.env_text;
  std::set<std::string> keys(rules.keys.begin(), rules.keys.end());
  keys.insert(rules.absent.begin(), rules.absent.end());

  Staging stage(out_dir, rules.rules);
  std::vector<Member> members;
  auto add_text = [&](const std::string& name, const std::string& source, std::string_view text) {
    members.push_back(stage.add_text(name, source, text));
  };

  // 3. The record, the logs.
  add_text("record.json", "the record",
           j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  const std::string console_path = string_of(vmm, "console_log");
  const std::uint64_t judged_limit =
      std::min<std::uint64_t>(opts.console_judged_bytes.value_or(UINT64_MAX), kMaxAnalysedBytes);
  std::string console_text;  // what the analysis reads
  std::uint64_t console_bytes = 0;
  bool have_console = false;
  if (console_path.empty()) {
    missing.push_back({"console.log", "the record names no console log (vmm.console_log)"});
  } else {
    auto why = copy_host_file(
        stage, "console.log", console_path, kMaxLogBytes,
        [&](std::string_view c) {
          console_bytes += c.size();
          if (console_text.size() < judged_limit)
            console_text.append(c.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                c.size(), judged_limit - console_text.size()))));
        },
        members);
    if (why)
      missing.push_back({"console.log", *why});
    else
      have_console = true;
  }
  check_stop();
  std::deque<char> vmm_tail;
  if (const std::string p = string_of(vmm, "log"); p.empty()) {
    missing.push_back({"vmm.log", "the record names no VMM log (vmm.log)"});
  } else if (auto why = copy_host_file(
                 stage, "vmm.log", p, kMaxLogBytes,
                 [&](std::string_view c) {
                   vmm_tail.insert(vmm_tail.end(), c.begin(), c.end());
                   while (vmm_tail.size() > 2048) vmm_tail.pop_front();
                 },
                 members)) {
    missing.push_back({"vmm.log", *why});
  }
  check_stop();

  // 4. From the image: the env file, the agent units and drop-ins, the
  //    preflight, the journal.
  // The units that matter, with what their files say (the same facts
  // vm-wait-ready judges the console by).
  const std::vector<diagnose::UnitFacts> facts = inspect::unit_facts(j, {}, img ? &*img : nullptr);
  std::vector<inspect::Finding> preflight;
  std::optional<std::uint64_t> journal_entries;
  if (img) {
    if (env_text)
      add_text("rootfs" + env_path, "image:" + env_path, redact_env_file(*env_text, keys));
    else
      missing.push_back({"rootfs" + env_path, fmt::format("{} is not in the image", env_path)});
    std::set<std::string> taken;
    nlohmann::json pre = nlohmann::json::array();
    const std::vector<std::string> env_keys = json_strings(agent, "env_keys");
    for (const auto& f : facts) {
      std::vector<inspect::Finding> found;
      try {
        found = inspect::check_unit(*img, {f.name, env_keys});
      } catch (const Error& e) {
        missing.push_back({"preflight of " + f.name, e.what()});
        continue;
      }
      for (const auto& fd : found) {
        preflight.push_back(fd);
        if (fd.code != "unit_file") continue;
        std::vector<std::string> files{fd.evidence.value("path", std::string())};
        if (fd.evidence.contains("dropins") && fd.evidence["dropins"].is_array())
          for (const auto& d : fd.evidence["dropins"])
            if (d.is_string()) files.push_back(d.get<std::string>());
        for (const std::string& p : files) {
          if (!safe_member_path(p) || !taken.insert(p).second) continue;
          try {
            add_text("rootfs" + p, "image:" + p, img->read_file(p, kMaxImageText));
          } catch (const Error& e) {
            missing.push_back({"rootfs" + p, e.what()});
          }
        }
      }
      nlohmann::json fj = nlohmann::json::array();
      for (const auto& fd : found) fj.push_back(fd.json());
      pre.push_back({{"unit", f.name}, {"summary", inspect::summary(found)}, {"findings", fj}});
    }
    if (facts.empty())
      missing.push_back({"preflight.json", "the record names no agent units (agent.units)"});
    else
      add_text("preflight.json", "rootfs-inspect check", pre.dump(2) + "\n");
    check_stop();

    // The journal: files copied out of the image, read with sd-journal.
    const fs::path jdir = stage.dir() / "journal-files";
    fs::create_directories(jdir);
    std::string why;
    std::optional<JournalFiles> jf;
    try {
      jf = extract_journal(*img, jdir, kMaxJournalBytes, why);
    } catch (const Error& e) {
      why = e.what();
    }
    if (jf) {
      for (const auto& s : jf->skipped) missing.push_back({"journal file", s});
      Staging::Writer text(stage, "journal/journal.txt",
                           fmt::format("image:{}/{}", kJournalDir, jf->machine_id),
                           kMaxExportBytes);
      Staging::Writer exp(stage, "journal/journal.export",
                          fmt::format("image:{}/{}", kJournalDir, jf->machine_id), kMaxExportBytes);
      try {
        bool room = true;
        const JournalRead r = read_journal(jf->files, [&](const JournalEntry& e) {
          JournalEntry red = e;
          for (auto& [name, value] : red.fields) value = redact(stage.rules(), value);
          room = text.write(text_line(red)) && room;
          room = exp.write(export_entry(red)) && room;
          return room;
        });
        journal_entries = r.entries;
        if (r.bad_fields)
          missing.push_back(
              {"journal fields", fmt::format("{} fields could not be read (a torn end of a file "
                                             "the guest was writing)",
                                             r.bad_fields)});
      } catch (const Error& e) {
        missing.push_back({"journal", e.what()});
      }
      members.push_back(text.close());
      members.push_back(exp.close());
      std::error_code ec;
      fs::remove_all(jdir, ec);
    } else {
      missing.push_back({"journal", why});
    }
  }
  opened.release();  // the replayed copy can be large: gone before the tar is written
  check_stop();

  // 5. The console analysis (the same one vm-wait-ready runs), offline.
  std::optional<diagnose::OfflineResult> analysis;
  std::optional<std::size_t> failure_line;
  const auto req = vmm::stop_request(rec);
  const pid_t pid = req ? req->pid : -1;
  const std::optional<std::uint64_t> start_time = req ? req->start_time : std::nullopt;
  const bool alive = pid > 0 && !opts.vmm_stopped_by_caller && process_alive(pid, start_time);
  std::string vmm_state;
  if (opts.vmm_stopped_by_caller)
    vmm_state = fmt::format("stopped by {} ({})", opts.made_by, opts.vmm_stop_words);
  else if (alive)
    vmm_state = fmt::format("running (pid {}): logs copied as far as they were written", pid);
  else if (pid > 0)
    vmm_state = fmt::format("gone (pid {} no longer runs)", pid);
  else
    vmm_state = "never launched (the record has no vmm.pid)";
  if (have_console) {
    diagnose::Catalog catalog;
    diagnose::OfflineInput in;
    in.console = console_text;
    in.units = facts;
    in.vmm_exited = pid > 0 && !alive && !opts.vmm_stopped_by_caller;
    in.vmm_pid = pid;
    in.vmm_status = "it was found gone when the evidence was archived";
    std::string tail(vmm_tail.begin(), vmm_tail.end());
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < tail.size();) {
      const auto nl = tail.find('\n', i);
      std::string l = diagnose::clean_line(tail.substr(i, nl - i));
      if (!l.empty()) lines.push_back(std::move(l));
      if (nl == std::string::npos) break;
      i = nl + 1;
    }
    if (lines.size() > 5) lines.erase(lines.begin(), lines.end() - 5);
    in.vmm_log_tail = lines;
    in.reporter = agent && agent->contains("reporter");
    analysis = diagnose::analyse_offline(catalog, in);
    // Where the failure is in the file, for "what to look at next".
    if (analysis->verdict && !analysis->verdict->evidence.empty()) {
      const std::string& want = analysis->verdict->evidence.front();
      std::size_t n = 0;
      for (std::size_t i = 0; i < console_text.size();) {
        const auto nl = console_text.find('\n', i);
        ++n;
        const std::string_view raw =
            std::string_view(console_text).substr(i, nl == std::string::npos ? nl : nl - i);
        if (raw.size() <= diagnose::kMaxConsoleLine &&
            diagnose::clean_line(raw).find(want) != std::string::npos) {
          failure_line = n;
          break;
        }
        if (nl == std::string::npos) break;
        i = nl + 1;
      }
    }
    const auto& a = analysis->analysis;
    if (a.report) {
      add_text("reporter.json", "console (vmu-report blocks)",
               nlohmann::json{{"seq", a.report->seq},
                              {"summary", a.report->summary()},
                              {"block", a.report->to_json()}}
                       .dump(2) +
                   "\n");
    } else {
      missing.push_back({"reporter.json", in.reporter
                                              ? "no complete reporter block on the console"
                                              : "no guest reporter in this VM (agent-inject "
                                                "--reporter installs one)"});
    }
  }

  // 6. The host's view of the network.
  const std::string ip = string_of(net, "ip"), tap = string_of(net, "tap"),
                    bridge = string_of(net, "bridge");
  std::optional<LinkState> tap_state;
  std::optional<Neighbour> neighbour;
  if (net) {
    nlohmann::json hn = nlohmann::json::object();
    if (!tap.empty()) {
      tap_state = read_link_state(tap);
      hn["tap"] = tap_state->to_json();
    }
    if (!bridge.empty()) hn["bridge"] = read_link_state(bridge).to_json();
    if (!ip.empty()) {
      neighbour = guest_neighbour(ip, bridge);
      hn["neighbour"] = neighbour ? neighbour->to_json() : nlohmann::json(nullptr);
    }
    hn["ip"] = ip;
    add_text("host/network.json", "/sys/class/net, rtnetlink", hn.dump(2) + "\n");
    if (const std::string dh = string_of(net, "dhcp_host_file"); dh.empty()) {
      missing.push_back(
          {"host/dhcp-host", "the record names no DHCP host file (net.dhcp_host_file)"});
    } else if (auto why = copy_host_file(stage, "host/dhcp-host", dh, 1u << 16, {}, members)) {
      missing.push_back({"host/dhcp-host", *why});
    }
  } else {
    missing.push_back({"host/network.json", "the record has no net section"});
  }

  // 7. summary.txt and manifest.json.
  const auto now = std::chrono::system_clock::now();
  ArchiveResult res;
  res.created = to_rfc3339(now);
  res.redacted_keys = rules.keys;
  res.short_keys = rules.short_;
  res.absent_keys = rules.absent;
  SummaryInput si;
  si.id = id;
  si.made_at = res.created;
  si.made_by = fmt::format("{} {}", opts.made_by, kVersion);
  si.record = j;
  si.vmm_state = vmm_state;
  si.console = analysis;
  si.console_bytes = console_bytes;
  si.console_judged = std::min<std::uint64_t>(console_bytes, judged_limit);
  si.failure_line = failure_line;
  si.preflight = preflight;
  for (const auto& f : facts) si.units.push_back(f.name);
  si.journal_entries = journal_entries;
  si.tap = tap_state;
  si.neighbour = neighbour;
  si.ip = ip;
  si.rootfs = rootfs_path;
  si.rootfs_kept = !opts.rootfs_will_be_removed;
  si.image_note = img_note;
  for (const auto& m : members) si.members.push_back(m.name);
  si.missing = missing;
  si.redacted_keys = rules.keys;
  si.short_keys = rules.short_;
  si.absent_keys = rules.absent;
  si.replacements = stage.replacements();
  const Member summary = stage.add_text("summary.txt", "vm-logs-archive", compose_summary(si));
  const std::uint64_t replaced = stage.replacements();
  std::vector<Member> listed{summary};
  listed.insert(listed.end(), members.begin(), members.end());
  const Member manifest = stage.add_text(
      "manifest.json", "vm-logs-archive",
      manifest_json(
          id, res.created, si.made_by, listed, missing, rules.keys, rules.short_, rules.absent,
          replaced,
          {{"path", rootfs_path}, {"read", img_note.empty() ? Json(nullptr) : Json(img_note)}})
              .dump(2) +
          "\n");
  check_stop();

  // 8. The tar.gz: under a temporary name, then linked to its own.
  std::map<std::string, fs::path> staged;
  for (const auto& s : stage.members()) staged[s.member.name] = s.path;
  std::string base;
  unsigned n = 0;
  std::string tmpl = (out_dir / (std::string(kTempPrefix) + "XXXXXX")).string();
  Fd tfd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!tfd)
    throw sys_error(fmt::format("creating a temporary archive in '{}'", out_dir.string()), errno);
  const fs::path tmp = tmpl;
  struct TmpGuard {
    fs::path p;
    ~TmpGuard() {
      std::error_code ec;
      if (!p.empty()) fs::remove(p, ec);
    }
  } tmp_guard{tmp};
  ::fchmod(tfd.get(), 0640);
  // The folder inside is named like the archive; the name is fixed before
  // writing and only its -N suffix may change if taken meanwhile.
  for (;; ++n) {
    const std::string name = archive_name(id, now, n);
    std::error_code ec;
    if (!fs::exists(out_dir / name, ec)) {
      base = name.substr(0, name.size() - std::string_view(".tar.gz").size());
      break;
    }
    if (n > 1000) throw Error(Exit::failed, "too many archives of this VM in one second");
  }
  std::vector<std::pair<std::string, fs::path>> entries;
  std::vector<std::string> order{"summary.txt", "manifest.json"};
  for (const auto& m : members) order.push_back(m.name);
  for (const auto& name : order) entries.emplace_back(base + "/" + name, staged.at(name));
  TarOut out;
  out.fd = tfd.get();
  out.path = tmp;
  write_tar(entries, out);
  if (::fsync(tfd.get()) != 0) throw sys_error(fmt::format("syncing '{}'", tmp.string()), errno);
  tfd.reset();
  fs::path final_path = out_dir / (base + ".tar.gz");
  // link(2) never replaces: a name taken since we looked (another archiver
  // in the same second) moves this one to the next suffix.
  while (::link(tmp.c_str(), final_path.c_str()) != 0) {
    if (errno != EEXIST)
      throw sys_error(fmt::format("naming archive '{}'", final_path.string()), errno);
    if (++n > 1000) throw Error(Exit::failed, "too many archives of this VM in one second");
    final_path = out_dir / archive_name(id, now, n);
  }
  sync_dir(out_dir);
  res.path = final_path;
  res.size = out.size;
  res.sha256 = out.hash.hex();
  res.members = listed;
  res.members.push_back(manifest);
  res.missing = missing;
  res.replacements = replaced;
  if (analysis)
    res.verdict = analysis->verdict ? fmt::format("{}{}", analysis->verdict->reason,
                                                  analysis->verdict->unit.empty()
                                                      ? ""
                                                      : " (" + analysis->verdict->unit + ")")
                                    : "no failure on the console";

  // 9. Retention, in the state's own archive folder only.
  if (opts.keep || opts.max_bytes)
    res.pruned = prune(out_dir, opts.keep, opts.max_bytes, final_path.filename().string());
  return res;
}

}  // namespace vmu::evidence
