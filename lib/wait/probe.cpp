#include "wait/probe.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "util/error.hpp"
#include "version.hpp"

namespace vmu::wait {

using diagnose::Outcome;

std::string StatusRange::str() const {
  return lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
}

StatusRange parse_status_range(std::string_view text) {
  auto bad = [&] {
    return Error(Exit::usage, "bad_status",
                 fmt::format("--expect-status: '{}' is not an HTTP status or a range of them "
                             "(e.g. 200, 200-299)",
                             text));
  };
  auto num = [&](std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 100 || v > 599) throw bad();
    return v;
  };
  const auto dash = text.find('-');
  StatusRange r;
  if (dash == std::string_view::npos) {
    r.lo = r.hi = num(text);
  } else {
    r.lo = num(text.substr(0, dash));
    r.hi = num(text.substr(dash + 1));
    if (r.lo > r.hi) throw bad();
  }
  return r;
}

namespace {
std::once_flag g_curl_once;

struct Transfer {
  CURL* easy = nullptr;
  StatusRange expect;
  std::chrono::steady_clock::time_point started;
  char errbuf[CURL_ERROR_SIZE] = {};
};

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;  // the body does not matter; the status does
}
}  // namespace

struct Probes::Impl {
  Hooks hooks;
  CURLM* multi = nullptr;
  std::map<Id, Transfer> transfers;
  std::vector<std::pair<Id, ProbeResult>> done;

  static int on_sock(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    const bool remove = what == CURL_POLL_REMOVE;
    self->hooks.watch(s, !remove && (what & CURL_POLL_IN), !remove && (what & CURL_POLL_OUT));
    return 0;
  }
  static int on_timer(CURLM*, long ms, void* userp) {
    static_cast<Impl*>(userp)->hooks.timer(ms);
    return 0;
  }

  void finish(Id id, Transfer& t, CURLcode rc) {
    ProbeResult r;
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t.started);
    long os_errno = 0, status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    r.os_errno = static_cast<int>(os_errno);
    const std::string curl_words = t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OK) {
      r.http_status = static_cast<int>(status);
      r.outcome = t.expect.contains(r.http_status) ? Outcome::ok : Outcome::http_status;
    } else if (rc == CURLE_COULDNT_CONNECT) {
      switch (os_errno) {
        case ECONNREFUSED:
          r.outcome = Outcome::refused;
          break;
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EHOSTDOWN:
          r.outcome = Outcome::unreachable;
          break;
        case ETIMEDOUT:
          r.outcome = Outcome::timeout;
          break;
        default:
          r.outcome = Outcome::other;
      }
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      double connected = 0;
      curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME, &connected);
      r.outcome = connected > 0 ? Outcome::reset : Outcome::timeout;
      if (connected > 0) r.detail = "no HTTP answer before the request timeout";
    } else if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
               rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_PARTIAL_FILE) {
      r.outcome = Outcome::reset;
    } else {
      r.outcome = Outcome::other;
    }
    if (r.detail.empty() && r.outcome != Outcome::ok && r.outcome != Outcome::http_status)
      r.detail = os_errno
                     ? fmt::format("{}: {}", curl_words, std::strerror(static_cast<int>(os_errno)))
                     : curl_words;
    done.emplace_back(id, std::move(r));
    curl_multi_remove_handle(multi, t.easy);
    curl_easy_cleanup(t.easy);
    transfers.erase(id);
  }

  void collect() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      for (auto& [id, t] : transfers)
        if (t.easy == m->easy_handle) {
          finish(id, t, m->data.result);
          break;
        }
    }
  }
};

Probes::Probes(Hooks hooks) : impl_(std::make_unique<Impl>()) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->hooks = std::move(hooks);
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw Error(Exit::failed, "initialising libcurl's multi interface failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_sock);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
}

Probes::~Probes() {
  for (auto& [id, t] : impl_->transfers) {
    curl_multi_remove_handle(impl_->multi, t.easy);
    curl_easy_cleanup(t.easy);
  }
  curl_multi_cleanup(impl_->multi);
}

void Probes::start(Id id, const std::string& url, StatusRange expect,
                   std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds total_timeout) {
  cancel(id);
  Transfer& t = impl_->transfers[id];
  t.expect = expect;
  t.started = std::chrono::steady_clock::now();
  t.easy = curl_easy_init();
  if (!t.easy) {
    impl_->transfers.erase(id);
    throw Error(Exit::failed, "initialising a libcurl handle failed");
  }
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");  // the guest is local: never through $http_proxy
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(total_timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  const std::string agent = std::string("vm-wait-ready/") + kVersion;
  curl_easy_setopt(e, CURLOPT_USERAGENT, agent.c_str());  // curl copies it
  curl_multi_add_handle(impl_->multi, e);
}

void Probes::cancel(Id id) {
  auto it = impl_->transfers.find(id);
  if (it == impl_->transfers.end()) return;
  curl_multi_remove_handle(impl_->multi, it->second.easy);
  curl_easy_cleanup(it->second.easy);
  impl_->transfers.erase(it);
}

bool Probes::running(Id id) const {
  return impl_->transfers.count(id) != 0;
}

void Probes::on_socket(int fd, bool in, bool out, bool error) {
  int mask =
      (in ? CURL_CSELECT_IN : 0) | (out ? CURL_CSELECT_OUT : 0) | (error ? CURL_CSELECT_ERR : 0);
  int running = 0;
  curl_multi_socket_action(impl_->multi, fd, mask, &running);
  impl_->collect();
}

void Probes::on_timeout() {
  int running = 0;
  curl_multi_socket_action(impl_->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  impl_->collect();
}

std::vector<std::pair<Probes::Id, ProbeResult>> Probes::take_done() {
  std::vector<std::pair<Id, ProbeResult>> out;
  out.swap(impl_->done);
  return out;
}

}  // namespace vmu::wait
