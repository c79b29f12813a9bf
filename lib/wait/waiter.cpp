#include "wait/waiter.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include <fmt/format.h>

#include "diagnose/lines.hpp"
#include "evidence/secrets.hpp"
#include "ext4/image.hpp"
#include "inspect/units.hpp"
#include "proc/spawn.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/proc.hpp"
#include "util/time.hpp"
#include "vmm/launch.hpp"
#include "wait/follow.hpp"

namespace vmu::wait {

namespace {

using Clock = std::chrono::steady_clock;
using ms_t = std::int64_t;
using diagnose::Outcome;

constexpr std::size_t kReadChunk = 256u << 10;  // console bytes per VM per turn
constexpr std::size_t kDrainLimit = 64u << 20;  // read at most this much of a dead VM's log
constexpr ms_t kInotifyRearm = 15;              // batch console writes (ms)
constexpr ms_t kRefusedFastFor = 10000;         // probe every 20 ms for this long
constexpr ms_t kEvidenceEvery = 1000;           // neighbour/TAP look-ups at most this often
constexpr ms_t kRestartStaleProbe = 300;        // a trigger restarts a probe older than this

// epoll keys: kind in the top byte, a VM token or fd below.
enum Key : std::uint64_t { input = 1, inotify = 2, pidfd = 3, sock = 4 };
std::uint64_t key(Key k, std::uint64_t v) {
  return (static_cast<std::uint64_t>(k) << 56) | v;
}

std::string str_at(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> split_tail(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= joined.size() && !joined.empty()) {
    const auto at = joined.find(" | ", start);
    out.push_back(
        diagnose::clean_line(joined.substr(start, at == std::string::npos ? at : at - start)));
    if (at == std::string::npos) break;
    start = at + 3;
  }
  return out;
}

}  // namespace

Target read_target(const Record& rec, const Options& opts) {
  Target t;
  t.id = rec.id();
  const Json& net = rec.get("net");
  t.ip = str_at(net, "ip");
  if (t.ip.empty())
    throw Error(Exit::usage, "no_ip",
                fmt::format("record '{}' has no net.ip: nothing to probe (run vmnet-alloc first)",
                            rec.id()));
  t.tap = str_at(net, "tap");
  t.bridge = str_at(net, "bridge");
  const Json& vmm = rec.get("vmm");
  auto pid = vmm.find("pid");
  if (pid == vmm.end() || !pid->is_number_integer() || pid->get<long long>() <= 0)
    throw Error(Exit::usage, "not_launched",
                fmt::format("record '{}' has no vmm.pid: the VM was not launched (run fc-launch "
                            "first)",
                            rec.id()));
  t.pid = static_cast<pid_t>(pid->get<long long>());
  if (auto st = vmm.find("start_time"); st != vmm.end() && st->is_number_unsigned())
    t.start_time = st->get<std::uint64_t>();
  t.console = str_at(vmm, "console_log");
  t.vmm_log = str_at(vmm, "log");
  t.rootfs = str_at(rec.get("rootfs"), "path");
  const Json& agent = rec.get("agent");

  if (auto r = agent.find("reporter"); r != agent.end() && r->is_object()) {
    auto p = r->find("port");
    t.reporter_port = p != r->end() && p->is_number_integer() ? p->get<int>() : 8080;
  }

  // The units that matter (the record's, then --unit), with what their
  // files in the image say. The image is opened as it is (a running VM's,
  // mid-write): best effort, the unit names alone will do.
  std::optional<ext4::Image> img;
  std::string image_problem = "the record names no rootfs (rootfs.path)";
  if (!t.rootfs.empty()) {
    try {
      img = ext4::Image::open(t.rootfs, ext4::Access::read_only, ext4::Dirty::allow);
    } catch (const std::exception& e) {
      img.reset();
      image_problem = e.what();
    }
  }
  t.units =
      inspect::unit_facts(rec.json(), opts.units, img && opts.read_unit_files ? &*img : nullptr);
  // The secrets, read before any console line is: fail closed.
  t.secrets = evidence::read_secrets(rec.json(), opts.redact, img ? &*img : nullptr, image_problem,
                                     "quote console")
                  .rules;
  return t;
}

struct Waiter::Impl {
  struct Vm {
    std::uint64_t token = 0;
    Record rec;
    Target t;
    std::unique_ptr<diagnose::ConsoleAnalyzer> an;
    diagnose::ProbeState probe;
    diagnose::VmmState vmm;
    diagnose::DecideConfig cfg;
    Fd pidfd;
    ms_t next_probe = 0;
    ms_t probe_started = -1;
    ms_t recheck = 0;
    ms_t last_evidence = -kEvidenceEvery;
    bool changed = true;
    bool vmm_drained = false;
    explicit Vm(Record r) : rec(std::move(r)) {}
  };

  Options opts;
  std::unique_ptr<HostNet> net;
  diagnose::Catalog catalog;
  Clock::time_point epoch = Clock::now();
  Fd ep;
  FileFollower follower;
  std::unique_ptr<Probes> probes;
  std::map<std::uint64_t, std::unique_ptr<Vm>> vms;
  std::uint64_t next_token = 1;
  std::set<int> curl_fds;
  std::optional<ms_t> curl_due;
  std::optional<ms_t> inotify_rearm;
  int input_registered = -1;
  std::vector<Note> notes;

  ms_t now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch).count();
  }

  void ctl(int op, int fd, std::uint32_t events, std::uint64_t data) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    if (::epoll_ctl(ep.get(), op, fd, &ev) != 0 && op != EPOLL_CTL_DEL)
      throw sys_error(fmt::format("watching descriptor {} with epoll", fd), errno);
  }

  void curl_watch(int fd, bool in, bool out) {
    if (!in && !out) {
      if (curl_fds.erase(fd)) ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
      return;
    }
    const std::uint32_t evs = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u);
    const bool known = curl_fds.count(fd) != 0;
    ctl(known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, evs, key(sock, static_cast<std::uint64_t>(fd)));
    curl_fds.insert(fd);
  }

  void note(Vm& vm, diagnose::Event ev) {
    notes.push_back({vm.t.id, ev.ms - vm.cfg.start_ms, std::move(ev)});
  }

  // The probe should run now: the guest just did something that may make it answer.
  void trigger(Vm& vm, ms_t t) {
    if (probes->running(vm.token)) {
      if (t - vm.probe_started < kRestartStaleProbe) return;
      probes->cancel(vm.token);
      vm.probe_started = -1;
    }
    vm.next_probe = t;
  }

  void start_probe(Vm& vm, ms_t t) {
    probes->start(vm.token, vm.probe.url, opts.expect, opts.connect_timeout, opts.request_timeout);
    vm.probe_started = t;
    vm.probe.in_flight_ms = t;
  }

  void evidence(Vm& vm, ms_t t) {
    if (t - vm.last_evidence < kEvidenceEvery) return;
    vm.last_evidence = t;
    vm.probe.neighbour = net->neighbour_state(vm.t.bridge, vm.t.ip);
    if (auto c = net->counters(vm.t.tap)) {
      vm.probe.tap_rx_packets = c->rx_packets;
      vm.probe.tap_tx_packets = c->tx_packets;
    }
  }

  void on_probe(Vm& vm, const ProbeResult& r, ms_t t) {
    auto& p = vm.probe;
    const Outcome before = p.last;
    vm.probe_started = -1;
    p.in_flight_ms.reset();
    ++p.attempts;
    p.last = r.outcome;
    p.last_ms = t;
    p.last_errno = r.os_errno;
    p.last_http = r.http_status;
    p.last_detail = r.detail;
    if (r.outcome != Outcome::refused) p.refused_since_ms.reset();
    if (r.outcome != Outcome::http_status) p.bad_status_since_ms.reset();
    ms_t delay = 100;
    switch (r.outcome) {
      case Outcome::ok:
        p.ok_ms = t;
        p.ok_status = r.http_status;
        break;
      case Outcome::refused:
        ++p.refused;
        p.ever_answered = true;
        if (!p.refused_since_ms) p.refused_since_ms = t;
        delay = t - *p.refused_since_ms < kRefusedFastFor ? 20 : 100;
        break;
      case Outcome::http_status:
        ++p.http_errors;
        p.ever_answered = true;
        if (r.http_status >= 400 && r.http_status < 500) {
          if (!p.bad_status_since_ms) p.bad_status_since_ms = t;
        } else {
          p.bad_status_since_ms.reset();
        }
        break;
      case Outcome::unreachable:
        ++p.unreachable;
        evidence(vm, t);
        break;
      case Outcome::timeout:
        ++p.timeouts;
        evidence(vm, t);
        break;
      case Outcome::reset:
        p.ever_answered = true;
        break;
      default:
        break;
    }
    // A failure that came back at once (no ARP wait) is retried less eagerly.
    if ((r.outcome == Outcome::unreachable || r.outcome == Outcome::other) && r.took.count() < 500)
      delay = 500;
    vm.next_probe = t + delay;
    vm.changed = true;
    if (r.outcome != before && r.outcome != Outcome::ok)
      note(vm, {t, diagnose::Kind::info, "probe", p.describe()});
  }

  void feed_console(Vm& vm, const std::string& bytes, bool truncated, ms_t t) {
    if (truncated) vm.an->restart_input();
    if (!bytes.empty()) vm.an->feed(bytes, t);
    for (auto& ev : vm.an->take_events()) {
      const bool wake =
          (ev.kind == diagnose::Kind::milestone && ev.what == "network_configured") ||
          (ev.kind == diagnose::Kind::unit && ev.what == "started") ||
          (ev.kind == diagnose::Kind::info && ev.what == "report" && vm.an->state().report &&
           !vm.an->state().report->listening_on(opts.port).empty());
      if (wake) trigger(vm, t);
      note(vm, std::move(ev));
    }
    vm.changed = true;
  }

  Finished finish(Vm& vm, diagnose::Verdict v) {
    follower.remove(vm.token);
    probes->cancel(vm.token);
    if (vm.pidfd) ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, vm.pidfd.get(), nullptr);
    Json ready = diagnose::ready_json(v, vm.an->state(), vm.probe, vm.vmm, vm.cfg);
    ready["at"] = to_rfc3339_ms(std::chrono::system_clock::now());  // when the verdict was given
    vm.rec.put("ready", std::move(ready));
    return Finished{std::move(vm.rec), std::move(v)};
  }
};

Waiter::Waiter(Options opts, std::unique_ptr<HostNet> net) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.opts = std::move(opts);
  m.net = std::move(net);
  for (const auto& r : m.opts.fail_on) m.catalog.add_fail_on(r);
  for (const auto& r : m.opts.ready_on) m.catalog.add_ready_on(r);
  m.ep.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!m.ep) throw sys_error("creating an epoll instance", errno);
  m.ctl(EPOLL_CTL_ADD, m.follower.fd(), EPOLLIN | EPOLLONESHOT, key(inotify, 0));
  m.probes = std::make_unique<Probes>(
      Probes::Hooks{[this](int fd, bool in, bool out) { impl_->curl_watch(fd, in, out); },
                    [this](long ms) {
                      if (ms < 0)
                        impl_->curl_due.reset();
                      else
                        impl_->curl_due = impl_->now() + ms;
                    }});
}

Waiter::~Waiter() = default;

std::size_t Waiter::active() const {
  return impl_->vms.size();
}

void Waiter::add(Record rec) {
  Impl& m = *impl_;
  Target t = read_target(rec, m.opts);
  auto vm = std::make_unique<Impl::Vm>(std::move(rec));
  Impl::Vm& v = *vm;
  v.token = m.next_token++;
  v.t = std::move(t);
  v.an = std::make_unique<diagnose::ConsoleAnalyzer>(m.catalog, v.t.units);
  if (!v.t.secrets.rules.empty())
    v.an->set_line_filter(
        [rules = v.t.secrets.rules](std::string_view l) { return evidence::redact(rules, l); });
  const ms_t now = m.now();
  v.cfg.graces = m.opts.graces;
  v.cfg.start_ms = now;
  v.cfg.deadline_ms = now + m.opts.timeout.count();
  v.cfg.console = !v.t.console.empty();
  v.cfg.reporter = v.t.reporter_port.has_value();
  auto& p = v.probe;
  p.ip = v.t.ip;
  p.tap = v.t.tap;
  p.bridge = v.t.bridge;
  p.port = m.opts.port;
  p.expect = m.opts.expect.str();
  p.url = fmt::format("http://{}:{}{}", v.t.ip, m.opts.port, m.opts.path);
  if (auto c = m.net->counters(v.t.tap)) p.tap_rx_at_start = c->rx_packets;
  if (!v.t.bridge.empty() && !m.net->counters(v.t.bridge))
    m.notes.push_back({v.t.id,
                       0,
                       {now, diagnose::Kind::warning, "no_bridge",
                        fmt::format("the bridge '{}' of the record is not in this network "
                                    "namespace: the probe may not reach {} (run vm-wait-ready "
                                    "where the bridge is)",
                                    v.t.bridge, v.t.ip)}});

  // The VMM: a pidfd, opened before the identity check so a reused pid
  // cannot slip in between.
  v.vmm.watched = true;
  v.vmm.pid = v.t.pid;
  v.pidfd.reset(open_pidfd(v.t.pid));
  if (!v.pidfd || !process_alive(v.t.pid, v.t.start_time)) {
    v.vmm.exited = true;
    v.vmm.exited_ms = now;
    v.vmm.status = "it was not running when the wait began";
    v.pidfd.reset();
  } else {
    m.ctl(EPOLL_CTL_ADD, v.pidfd.get(), EPOLLIN, key(pidfd, v.token));
  }
  if (!v.t.console.empty()) m.follower.add(v.token, v.t.console);
  v.next_probe = now;
  m.vms.emplace(v.token, std::move(vm));
}

Waiter::Step Waiter::step(int input_fd, std::chrono::milliseconds max_wait) {
  Impl& m = *impl_;
  Step out;
  if (input_fd != m.input_registered) {
    if (m.input_registered >= 0)
      ::epoll_ctl(m.ep.get(), EPOLL_CTL_DEL, m.input_registered, nullptr);
    m.input_registered = -1;
    if (input_fd >= 0) {
      m.ctl(EPOLL_CTL_ADD, input_fd, EPOLLIN, key(input, 0));
      m.input_registered = input_fd;
    }
  }

  // 1. How long may we sleep?
  ms_t now = m.now();
  ms_t wake = now + max_wait.count();
  if (m.curl_due) wake = std::min(wake, *m.curl_due);
  if (m.inotify_rearm) wake = std::min(wake, *m.inotify_rearm);
  if (m.follower.any_dirty()) wake = now;
  for (auto& [tok, v] : m.vms) {
    if (!m.probes->running(tok) && !v->vmm.exited) wake = std::min(wake, v->next_probe);
    wake = std::min(wake, v->recheck);
    if (v->changed || (v->vmm.exited && !v->vmm_drained)) wake = now;
  }
  const int timeout = static_cast<int>(std::clamp<ms_t>(wake - now, 0, 60000));

  // 2. Wait.
  epoll_event evs[64];
  const int n = ::epoll_wait(m.ep.get(), evs, 64, timeout);
  if (n < 0) {
    if (errno == EINTR) {
      out.interrupted = true;
      return out;
    }
    throw sys_error("waiting for events (epoll_wait)", errno);
  }
  now = m.now();
  bool inotify_fired = false;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t k = evs[i].data.u64;
    const auto kind = static_cast<Key>(k >> 56);
    const std::uint64_t val = k & ((std::uint64_t{1} << 56) - 1);
    switch (kind) {
      case input:
        out.input_ready = true;
        break;
      case inotify:
        inotify_fired = true;
        break;
      case pidfd:
        if (auto it = m.vms.find(val); it != m.vms.end() && !it->second->vmm.exited) {
          Impl::Vm& v = *it->second;
          v.vmm.exited = true;
          v.vmm.exited_ms = now;
          v.vmm.status = "exit status unknown (not vm-wait-ready's child)";
          ::epoll_ctl(m.ep.get(), EPOLL_CTL_DEL, v.pidfd.get(), nullptr);
          v.changed = true;
          m.note(v, {now, diagnose::Kind::warning, "vmm_exited",
                     fmt::format("the VMM (pid {}) exited", v.t.pid)});
        }
        break;
      case sock:
        m.probes->on_socket(static_cast<int>(val), evs[i].events & EPOLLIN,
                            evs[i].events & EPOLLOUT, evs[i].events & (EPOLLERR | EPOLLHUP));
        break;
    }
  }
  // 3. Console writes come in bursts: handle them, then let more gather
  //    for a moment before the inotify descriptor wakes us again.
  if (inotify_fired) {
    m.follower.on_readable();
    m.inotify_rearm = now + kInotifyRearm;
  }
  if (m.inotify_rearm && now >= *m.inotify_rearm) {
    m.follower.on_readable();
    m.ctl(EPOLL_CTL_MOD, m.follower.fd(), EPOLLIN | EPOLLONESHOT, key(inotify, 0));
    m.inotify_rearm.reset();
  }
  if (m.curl_due && now >= *m.curl_due) {
    m.curl_due.reset();
    m.probes->on_timeout();
  }
  for (auto& [tok, r] : m.probes->take_done())
    if (auto it = m.vms.find(tok); it != m.vms.end()) m.on_probe(*it->second, r, now);

  // 4. Console bytes.
  std::string buf;
  for (auto tok : m.follower.dirty()) {
    auto it = m.vms.find(tok);
    if (it == m.vms.end()) continue;
    buf.clear();
    auto c = m.follower.read(tok, buf, kReadChunk);
    m.feed_console(*it->second, buf, c.truncated, now);
  }
  // A VMM that is gone wrote its last byte: read the log to its end.
  for (auto& [tok, v] : m.vms) {
    if (!v->vmm.exited || v->vmm_drained) continue;
    buf.clear();
    if (!v->t.console.empty()) {
      auto c = m.follower.drain(tok, buf, kDrainLimit);
      m.feed_console(*v, buf, c.truncated, now);
    }
    v->an->finish(now);
    m.feed_console(*v, {}, false, now);
    if (!v->t.vmm_log.empty())
      v->vmm.log_tail =
          split_tail(evidence::redact(v->t.secrets.rules, vmm::log_tail(v->t.vmm_log, 5)));
    v->vmm_drained = true;
    m.probes->cancel(tok);
  }

  // 5. Probes that are due.
  for (auto& [tok, v] : m.vms)
    if (!v->vmm.exited && !m.probes->running(tok) && now >= v->next_probe) m.start_probe(*v, now);

  // 6. Verdicts.
  for (auto it = m.vms.begin(); it != m.vms.end();) {
    Impl::Vm& v = *it->second;
    v.probe.now_ms = now;
    // A probe that waits long (for ARP) is evidence too: look at the host's side.
    if (v.probe.in_flight_ms && now - *v.probe.in_flight_ms > kEvidenceEvery) m.evidence(v, now);
    if (!v.changed && now < v.recheck) {
      ++it;
      continue;
    }
    v.changed = false;
    const bool final = v.vmm.exited && v.vmm_drained;
    auto d = diagnose::decide(v.an->state(), v.t.units, v.probe, v.vmm, v.cfg, now, final);
    if (d.verdict) {
      out.finished.push_back(m.finish(v, std::move(*d.verdict)));
      it = m.vms.erase(it);
      continue;
    }
    v.recheck = d.recheck_ms;
    ++it;
  }
  out.notes = std::move(m.notes);
  m.notes.clear();
  return out;
}

std::vector<Finished> Waiter::abort_all(const std::string& reason) {
  Impl& m = *impl_;
  std::vector<Finished> out;
  const ms_t now = m.now();
  for (auto& [tok, v] : m.vms) {
    diagnose::Verdict verdict;
    verdict.reason = reason;
    verdict.code = Exit::interrupted;
    verdict.message =
        fmt::format("interrupted after {} ms; {}", now - v->cfg.start_ms, v->probe.describe());
    verdict.at_ms = now;
    out.push_back(m.finish(*v, std::move(verdict)));
  }
  m.vms.clear();
  return out;
}

std::vector<Progress> Waiter::progress() const {
  const Impl& m = *impl_;
  std::vector<Progress> out;
  const ms_t now = m.now();
  for (const auto& [tok, v] : m.vms) {
    Progress p;
    p.id = v->t.id;
    p.elapsed_ms = now - v->cfg.start_ms;
    if (auto ms = v->an->state().latest_milestone()) p.milestone = ms->first;
    switch (v->probe.last) {
      case Outcome::none:
        p.last_error =
            v->probe.neighbour.empty() ? "probing" : "probing, ARP " + v->probe.neighbour;
        break;
      case Outcome::refused:
        p.last_error = fmt::format("port {} refused", m.opts.port);
        break;
      case Outcome::unreachable:
        p.last_error =
            v->probe.neighbour.empty() ? "unreachable" : "unreachable, ARP " + v->probe.neighbour;
        break;
      case Outcome::timeout:
        p.last_error = "connect timeout";
        break;
      case Outcome::http_status:
        p.last_error = fmt::format("HTTP {}", v->probe.last_http);
        break;
      default:
        p.last_error = std::string(diagnose::outcome_word(v->probe.last));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace vmu::wait
