#include "lifecycle/status.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/proc.hpp"
#include "vmm/stop.hpp"

namespace vmu::lifecycle {

namespace {

std::string str(const Json& section, const char* key) {
  auto it = section.find(key);
  return it != section.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view state_word(VmState s) {
  switch (s) {
    case VmState::created:
      return "created";
    case VmState::running:
      return "running";
    case VmState::ready:
      return "ready";
    case VmState::failed:
      return "failed";
    case VmState::exited:
      return "exited";
    case VmState::stale:
      return "stale";
  }
  return "stale";
}

bool record_failed(const Record& r) {
  if (r.failed()) return true;
  const Json& ready = r.get("ready");
  auto ok = ready.find("ok");
  return ok != ready.end() && ok->is_boolean() && !ok->get<bool>();
}

bool record_ready(const Record& r) {
  if (r.failed()) return false;
  const Json& ready = r.get("ready");
  auto ok = ready.find("ok");
  return ok != ready.end() && ok->is_boolean() && ok->get<bool>();
}

std::string format_age(std::int64_t s) {
  if (s < 0) s = 0;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 2 * 3600) return fmt::format("{}m", s / 60);
  if (s < 2 * 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

VmStatus classify(const std::string& id, const std::optional<Record>& rec,
                  const std::string& problem, bool vmm_alive, const std::string& boot,
                  SysTime now) {
  VmStatus s;
  s.id = id;
  s.vmm_alive = vmm_alive;
  if (!rec) {
    s.state = VmState::stale;
    s.reason = problem.empty() ? "no_record" : "bad_record";
    s.problem = problem.empty() ? "the state folder has no record.json" : problem;
    return s;
  }
  s.record = rec;
  const Json& net = rec->get("net");
  const Json& vmm = rec->get("vmm");
  s.ip = str(net, "ip");
  s.tap = str(net, "tap");
  s.backend = str(vmm, "backend");
  s.console = str(vmm, "console_log");
  s.created = str(rec->json(), "created");
  if (auto p = vmm.find("pid"); p != vmm.end() && p->is_number_integer()) s.pid = p->get<pid_t>();
  if (auto t = parse_rfc3339(s.created))
    s.age_s = std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();

  const std::string rec_boot = str(rec->get("rootfs"), "boot_id");
  if (!vmm_alive && !boot.empty() && !rec_boot.empty() && rec_boot != boot) {
    s.state = VmState::stale;
    s.reason = "earlier_boot";
    s.problem = "the record was made in an earlier boot of this host";
    return s;
  }
  if (record_failed(*rec)) {
    s.state = VmState::failed;
    s.reason = rec->failed() ? str(rec->get("error"), "reason") : "";
    if (s.reason.empty()) s.reason = str(rec->get("ready"), "reason");
    return s;
  }
  if (!rec->has("vmm")) {
    s.state = VmState::created;
    return s;
  }
  if (!vmm_alive) {
    s.state = VmState::exited;
    s.reason = "vmm_gone";
    return s;
  }
  s.state = record_ready(*rec) ? VmState::ready : VmState::running;
  return s;
}

VmStatus status_of(const State& st, const std::string& id) {
  check_vm_id(id);
  std::optional<Record> rec;
  std::string problem;
  try {
    rec = st.load_if_exists(id);
  } catch (const Error& e) {
    problem = e.what();
  }
  bool alive = false;
  if (rec)
    if (auto req = vmm::stop_request(*rec)) alive = process_alive(req->pid, req->start_time);
  return classify(id, rec, problem, alive, boot_id(), std::chrono::system_clock::now());
}

VmStatus status_of_mirrored(const std::string& id, const std::string& host, const Record& rec) {
  // Alive as far as we know, and no boot to compare: the record decides.
  VmStatus s = classify(id, rec, "", true, "", std::chrono::system_clock::now());
  s.vmm_alive = false;
  s.host = host;
  s.remote = true;
  return s;
}

std::vector<VmStatus> list_vms(const State& st) {
  std::vector<VmStatus> out;
  std::error_code ec;
  if (!fs::is_directory(st.vms_dir(), ec)) return out;
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(st.vms_dir(), ec)) {
    std::error_code ec2;
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec2) && valid_vm_id(name)) ids.push_back(name);
  }
  if (ec)
    throw Error(Exit::failed, fmt::format("listing '{}': {}", st.vms_dir().string(), ec.message()));
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) out.push_back(status_of(st, id));
  return out;
}

nlohmann::json VmStatus::row() const {
  auto opt = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return {{"id", id},
          {"state", std::string(state_word(state))},
          {"address", opt(ip)},
          {"tap", opt(tap)},
          {"backend", opt(backend)},
          {"pid", pid > 0 ? Json(pid) : Json(nullptr)},
          {"vmm_alive", remote ? Json(nullptr) : Json(vmm_alive)},
          {"age", age_s ? Json(format_age(*age_s)) : Json(nullptr)},
          {"age_s", age_s ? Json(*age_s) : Json(nullptr)},
          {"reason", opt(reason)},
          {"console", opt(console)},
          {"created", opt(created)},
          {"host", opt(host)}};
}

nlohmann::json VmStatus::full() const {
  Json out = record ? record->json() : Json{{"id", id}};
  Json status = row();
  status.erase("id");
  if (!problem.empty()) status["problem"] = problem;
  out["status"] = status;
  return out;
}

}  // namespace vmu::lifecycle
