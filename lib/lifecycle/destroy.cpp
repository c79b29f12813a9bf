#include "lifecycle/destroy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "lifecycle/status.hpp"
#include "net/alloc.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"
#include "vmm/stop.hpp"

namespace vmu::lifecycle {

namespace {

std::string str(const Json& section, const char* key) {
  auto it = section.find(key);
  return it != section.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::uint64_t> file_size(const std::string& p) {
  struct stat sb {};
  if (p.empty() || ::stat(p.c_str(), &sb) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(sb.st_size);
}

bool inside(const fs::path& p, const fs::path& dir) {
  const auto rel = p.lexically_normal().lexically_relative(dir.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

ArchiveWhen parse_archive_when(std::string_view s) {
  if (s == "failed") return ArchiveWhen::failed;
  if (s == "always") return ArchiveWhen::always;
  if (s == "never") return ArchiveWhen::never;
  throw Error(Exit::usage, "usage",
              fmt::format("--archive '{}': expected failed, always or never", s));
}

DestroyReport destroy_vm(Record& rec, const State& st, LeaseStore& store, NetDevices& net,
                         const DestroyOptions& opts) {
  DestroyReport rep;
  const std::string id = rec.id();
  if (!opts.all && record_ready(rec)) {
    rep.passed = true;
    return rep;
  }
  const bool failed = record_failed(rec);
  const Json& net_s = rec.get("net");
  const Json& vmm_s = rec.get("vmm");
  const bool have_state = fs::exists(st.vm_dir(id));
  Json section = {{"at", now_rfc3339()}};

  // 1. The VMM.
  std::optional<std::uint64_t> console_before;
  bool stopped = false;
  if (auto req = vmm::stop_request(rec)) {
    req->grace = opts.grace;
    console_before = file_size(str(vmm_s, "console_log"));
    const vmm::StopOutcome out = vmm::stop_vm(*req);
    section["vmm"] = std::string(vmm::stop_word(out.how));
    switch (out.how) {
      case vmm::StopHow::not_running:
        rep.events.push_back({false, fmt::format("a running VMM (pid {} is gone)", req->pid)});
        break;
      case vmm::StopHow::pid_reused:
        rep.events.push_back(
            {false, fmt::format("the VMM: pid {} now belongs to another process, not "
                                "touched",
                                req->pid)});
        break;
      default:
        stopped = true;
        rep.events.push_back(
            {true, fmt::format(
                       "stopped the VMM (pid {}) in {}: {}", req->pid,
                       out.took.count() >= 1000
                           ? fmt::format("{:.1f} s", static_cast<double>(out.took.count()) / 1000.0)
                           : fmt::format("{} ms", out.took.count()),
                       fmt::join(out.steps, "; "))});
    }
  } else {
    section["vmm"] = "none";
    rep.events.push_back({false, "a VMM (the record names no vmm.pid)"});
  }

  // 2. The evidence, before anything is removed.
  const bool want_archive =
      opts.archive == ArchiveWhen::always || (opts.archive == ArchiveWhen::failed && failed);
  if (want_archive && !have_state) {
    // Logs, clone and record all lived there: nothing left to keep (and
    // destroying the same records twice stays fine).
    rep.events.push_back({false, "anything to archive (the state folder is gone)"});
  } else if (want_archive) {
    evidence::ArchiveOptions ao = opts.archive_opts;
    ao.vmm_stopped_by_caller = stopped;
    ao.vmm_stop_words = section.value("vmm", std::string());
    if (stopped) ao.console_judged_bytes = console_before;
    ao.rootfs_will_be_removed = !opts.keep_state;
    try {
      rep.archive = evidence::make_archive(rec, st, ao);
    } catch (const Error& e) {
      throw Error(e.code() == Exit::interrupted ? Exit::interrupted : e.code(), "archive_failed",
                  fmt::format("archiving the evidence failed: {}; {} its state folder, TAP and "
                              "lease are kept (fix that and run vm-destroy again, or use "
                              "--archive never)",
                              e.what(), stopped ? "the VM is stopped;" : "nothing was removed:"));
    }
    rec.put("archive", rep.archive->section());
    rep.events.push_back({true, fmt::format("archived the evidence: {} ({} bytes, {} members)",
                                            rep.archive->path.string(), rep.archive->size,
                                            rep.archive->members.size())});
  }
  section["archive"] = rep.archive ? Json(rep.archive->path.string()) : Json(nullptr);

  // 3. The network: TAP and lease through the allocator (devices first).
  const std::string tap = str(net_s, "tap"), ip = str(net_s, "ip");
  Allocator alloc(store, net, st);
  std::string lease = "none";
  try {
    if (alloc.release(id) == Allocator::Released::released) {
      lease = "released";
      rep.events.push_back(
          {true, fmt::format("released the lease of {}{}", ip.empty() ? id : ip,
                             tap.empty() ? "" : fmt::format(" and deleted TAP {}", tap))});
    } else {
      lease = "already_free";
      rep.events.push_back({false, fmt::format("a lease for {} (already free)", id)});
    }
  } catch (const Error& e) {
    if (e.reason() != "unknown_id") throw;
    rep.events.push_back({false, fmt::format("a lease for {}", id)});
  }
  section["lease"] = lease;
  if (lease != "released" && !tap.empty()) {
    // A TAP left behind without its lease: delete it only when no lease
    // names it (otherwise the name already belongs to another VM).
    bool leased = false;
    for (const auto& pool : store.snapshot())
      for (const auto& l : pool.leases)
        if (l.tap == tap) leased = true;
    if (!net.exists(tap)) {
      rep.events.push_back({false, fmt::format("TAP {}", tap)});
    } else if (leased) {
      rep.events.push_back(
          {false, fmt::format("TAP {} to delete: it exists but another VM's lease names "
                              "it now",
                              tap)});
    } else {
      net.delete_tap(tap);
      rep.events.push_back({true, fmt::format("deleted TAP {} (left without its lease)", tap)});
    }
  }
  if (const std::string dh = str(net_s, "dhcp_host_file"); !dh.empty() && lease != "released") {
    // Only a file that is this VM's entry ("MAC,IP,ID").
    std::optional<std::string> text;
    try {
      text = read_file_if_exists(dh, 1u << 16);
    } catch (const Error&) {
    }
    if (!text) {
      rep.events.push_back({false, fmt::format("DHCP host file {}", dh)});
    } else if (text->find("," + id) != std::string::npos) {
      if (::unlink(dh.c_str()) != 0 && errno != ENOENT)
        throw sys_error(fmt::format("removing DHCP host file '{}'", dh), errno);
      rep.events.push_back({true, fmt::format("removed DHCP host file {}", dh)});
    }
  }

  // 4. Sockets and state.
  std::error_code ec;
  if (fs::exists(st.run_dir(id), ec)) {
    fs::remove_all(st.run_dir(id), ec);
    if (ec)
      throw Error(Exit::failed,
                  fmt::format("removing '{}': {}", st.run_dir(id).string(), ec.message()));
    rep.events.push_back({true, fmt::format("removed {}", st.run_dir(id).string())});
  }
  const std::string rootfs = str(rec.get("rootfs"), "path");
  if (!rootfs.empty() && !inside(rootfs, st.vm_dir(id)) && !opts.keep_state)
    rep.events.push_back(
        {false, fmt::format("a rootfs to remove inside the state folder ({} is outside "
                            "it: kept)",
                            rootfs)});
  if (opts.keep_state) {
    section["state"] = "kept";
  } else if (fs::exists(st.vm_dir(id), ec)) {
    fs::remove_all(st.vm_dir(id), ec);
    if (ec)
      throw Error(Exit::failed, fmt::format("removing state folder '{}': {}",
                                            st.vm_dir(id).string(), ec.message()));
    sync_dir(st.vms_dir());
    section["state"] = "removed";
    rep.events.push_back({true, fmt::format("removed {}", st.vm_dir(id).string())});
  } else {
    section["state"] = "absent";
    rep.events.push_back({false, fmt::format("state folder {}", st.vm_dir(id).string())});
  }
  if (!opts.keep_state && st.registry()) {
    st.registry()->remove(id);
    rep.events.push_back({true, "removed the record's copy in the shared store"});
  }
  rec.put("destroyed", section);
  if (opts.keep_state && have_state) st.save(rec);
  return rep;
}

bool remove_lost_record(const State& st, const std::string& id) {
  check_vm_id(id);
  const fs::path rec = st.record_path(id);
  struct stat sb {};
  if (::lstat(rec.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != 0) return false;
  const fs::path dir = st.vm_dir(id);
  const std::string temps = fmt::format(".{}.tmp.", rec.filename().string());
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name != rec.filename().string() && !name.starts_with(temps))
      throw Error(Exit::failed, "bad_state",
                  fmt::format("the saved record '{}' is empty (lost in a power cut) but its "
                              "folder holds '{}' too: look at it, then remove '{}' by hand",
                              rec.string(), name, dir.string()));
  }
  fs::remove_all(dir);
  if (st.registry()) st.registry()->remove(id);
  return true;
}

}  // namespace vmu::lifecycle
