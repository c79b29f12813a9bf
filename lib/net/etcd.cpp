#include "net/etcd.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

using Json = nlohmann::json;

namespace {

constexpr std::size_t kMaxAnswerBytes = 64u << 20;
constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::int64_t to_int(const Json& j) {
  // The gateway writes int64 as strings; accept numbers too.
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (!j.is_string()) return 0;
  const auto& s = j.get_ref<const std::string&>();
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

EtcdClient::Range parse_range(const Json& j) {
  EtcdClient::Range r;
  if (auto h = j.find("header"); h != j.end() && h->contains("revision"))
    r.revision = to_int((*h)["revision"]);
  r.more = j.value("more", false);
  if (auto kvs = j.find("kvs"); kvs != j.end() && kvs->is_array()) {
    for (const auto& kv : *kvs) {
      EtcdKv e;
      e.key = base64_decode(kv.value("key", ""));
      e.value = base64_decode(kv.value("value", ""));
      e.create_revision = to_int(kv.value("create_revision", Json()));
      e.mod_revision = to_int(kv.value("mod_revision", Json()));
      r.kvs.push_back(std::move(e));
    }
  }
  return r;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[') return h.back() == ']' && h.size() > 2;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return false;
  return true;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  auto bad = [&] {
    return Error(Exit::failed, "etcd_error",
                 fmt::format("etcd answered with malformed base64 '{}'", in.substr(0, 40)));
  };
  if (in.size() % 4 != 0) throw bad();
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      unsigned d = 0;
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
      } else {
        if (pad) throw bad();
        auto pos = kB64.find(c);
        if (pos == std::string_view::npos) throw bad();
        d = static_cast<unsigned>(pos);
      }
      v = v << 6 | d;
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 255);
    if (pad < 1) out += static_cast<char>(v & 255);
  }
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = end.back();
    if (static_cast<unsigned char>(c) < 0xff) {
      c = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdUrl EtcdUrl::parse(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error(
        Exit::usage, "bad_store",
        fmt::format("store '{}': {} (write etcd://HOST:PORT[,HOST:PORT...]/PREFIX)", url, why));
  };
  constexpr std::string_view scheme = "etcd://";
  if (!url.starts_with(scheme)) throw bad("not an etcd:// address");
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) throw bad("no /PREFIX");
  std::string_view hosts = rest.substr(0, slash);
  std::string_view prefix = rest.substr(slash);
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.size() < 2) throw bad("the PREFIX is empty");
  for (char c : prefix)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == '?' || c == '#')
      throw bad("the PREFIX holds a space, control or non-ASCII character, '?' or '#'");
  EtcdUrl u;
  u.prefix = std::string(prefix);
  while (true) {
    const auto comma = hosts.find(',');
    std::string_view ep = hosts.substr(0, comma);
    const auto colon = ep.rfind(':');
    if (ep.empty() || colon == std::string_view::npos)
      throw bad(fmt::format("'{}' is not HOST:PORT", ep));
    std::string_view host = ep.substr(0, colon), port = ep.substr(colon + 1);
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (!valid_host(host) || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
        p > 65535)
      throw bad(fmt::format("'{}' is not HOST:PORT", ep));
    u.endpoints.emplace_back(ep);
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }
  return u;
}

// libcurl, loaded on first use. The process keeps it (dlclose on exit of the
// client): only etcd needs it.
struct EtcdClient::Curl {
  void* lib = nullptr;
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;

  template <typename F>
  void sym(F& f, const char* name) {
    void* p = ::dlsym(lib, name);
    if (!p)
      throw Error(Exit::failed, "no_libcurl",
                  fmt::format("libcurl.so.4 has no '{}': too old for the etcd store", name));
    f = reinterpret_cast<F>(p);
  }

  Curl() {
    lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      throw Error(Exit::failed, "no_libcurl",
                  fmt::format("the etcd store needs libcurl ({}); install libcurl4", ::dlerror()));
    try {
      sym(global_init, "curl_global_init");
      sym(easy_init, "curl_easy_init");
      sym(easy_setopt, "curl_easy_setopt");
      sym(easy_perform, "curl_easy_perform");
      sym(easy_getinfo, "curl_easy_getinfo");
      sym(easy_cleanup, "curl_easy_cleanup");
      sym(slist_append, "curl_slist_append");
      sym(slist_free_all, "curl_slist_free_all");
      if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(easy = easy_init()))
        throw Error(Exit::failed, "no_libcurl", "initialising libcurl failed");
      headers = slist_append(headers, "Content-Type: application/json");
      headers = slist_append(headers, "Expect:");
    } catch (...) {
      ::dlclose(lib);
      throw;
    }
  }
  ~Curl() {
    if (headers) slist_free_all(headers);
    if (easy) easy_cleanup(easy);
    ::dlclose(lib);
  }
};

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() + size * n > kMaxAnswerBytes) return 0;
  s->append(data, size * n);
  return size * n;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds deadline,
                       std::chrono::milliseconds patience)
    : curl_(std::make_unique<Curl>()),
      endpoints_(std::move(endpoints)),
      deadline_(deadline),
      patience_(patience) {}

EtcdClient::~EtcdClient() = default;

Json EtcdClient::post(const char* path, const Json& body) {
  const std::string payload = body.dump();
  const auto started = std::chrono::steady_clock::now();
  auto backoff = std::chrono::milliseconds(100);
  std::vector<std::string> failures;
  bool answered = false;  // a member answered, but without a quorum behind it
  char errbuf[CURL_ERROR_SIZE];
  for (;;) {
    failures.clear();
    for (std::size_t k = 0; k < endpoints_.size(); ++k) {
      const std::size_t i = (current_ + k) % endpoints_.size();
      const std::string& ep = endpoints_[i];
      const std::string url = fmt::format("http://{}{}", ep, path);
      std::string answer;
      errbuf[0] = '\0';
      CURL* c = curl_->easy;
      auto& set = curl_->easy_setopt;
      set(c, CURLOPT_URL, url.c_str());
      set(c, CURLOPT_POST, 1L);
      set(c, CURLOPT_POSTFIELDS, payload.c_str());
      set(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
      set(c, CURLOPT_HTTPHEADER, curl_->headers);
      set(c, CURLOPT_WRITEFUNCTION, &on_body);
      set(c, CURLOPT_WRITEDATA, &answer);
      set(c, CURLOPT_ERRORBUFFER, errbuf);
      set(c, CURLOPT_TIMEOUT_MS, static_cast<long>(deadline_.count()));
      set(c, CURLOPT_CONNECTTIMEOUT_MS,
          static_cast<long>(std::min<std::int64_t>(deadline_.count(), 1000)));
      set(c, CURLOPT_NOSIGNAL, 1L);
      set(c, CURLOPT_NOPROXY, "*");  // a cluster's members are never behind a proxy
      set(c, CURLOPT_PROTOCOLS_STR, "http");
      const CURLcode rc = curl_->easy_perform(c);
      if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT) {
          answered = true;
          failures.push_back(fmt::format("{}: no answer within {} ms", ep, deadline_.count()));
        } else {
          failures.push_back(fmt::format("{}: {}", ep, errbuf[0] ? errbuf : "request failed"));
        }
        continue;
      }
      long status = 0;
      curl_->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      Json j;
      try {
        j = Json::parse(answer);
      } catch (const Json::exception&) {
        failures.push_back(fmt::format("{}: HTTP {} with a body that is not JSON", ep, status));
        continue;
      }
      if (status == 200 && j.is_object()) {
        current_ = i;
        return j;
      }
      const std::string msg = j.is_object() ? j.value("message", j.value("error", "")) : "";
      const std::int64_t code = j.is_object() ? to_int(j.value("code", Json())) : 0;
      // gRPC UNAVAILABLE (no leader, request timed out, leader changed) and
      // DEADLINE_EXCEEDED: another member, or later, may do.
      if (code == 14 || code == 4 || status >= 500) {
        answered = true;
        failures.push_back(fmt::format("{}: {}", ep, msg.empty() ? "HTTP error" : msg));
        continue;
      }
      throw Error(Exit::failed, "etcd_error",
                  fmt::format("etcd {} refused {}: {} (HTTP {})", ep, path, msg, status));
    }
    const auto waited = std::chrono::steady_clock::now() - started;
    if (waited + backoff >= patience_) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
  std::string list;
  for (const auto& e : endpoints_) list += (list.empty() ? "" : ",") + e;
  std::string why;
  for (const auto& f : failures) why += (why.empty() ? "" : "; ") + f;
  throw Error(
      Exit::failed, "etcd_unavailable",
      fmt::format("etcd cluster {} {} within {} s ({}); etcd needs a quorum, a majority of its "
                  "members up and reaching each other",
                  list, answered ? "has no quorum: no answer" : "cannot be reached",
                  patience_.count() / 1000, why));
}

EtcdClient::Range EtcdClient::range(std::string_view key, std::string_view end, std::int64_t limit,
                                    bool keys_only, std::int64_t revision) {
  Json body = {{"key", base64_encode(key)}};
  if (!end.empty()) body["range_end"] = base64_encode(end);
  if (limit > 0) body["limit"] = std::to_string(limit);
  if (keys_only) body["keys_only"] = true;
  if (revision > 0) body["revision"] = std::to_string(revision);
  return parse_range(post("/v3/kv/range", body));
}

EtcdClient::TxnResult EtcdClient::txn(const Json& compare, const Json& success,
                                      const Json& failure) {
  const Json j =
      post("/v3/kv/txn", {{"compare", compare}, {"success", success}, {"failure", failure}});
  TxnResult r;
  r.succeeded = j.value("succeeded", false);
  if (auto h = j.find("header"); h != j.end() && h->contains("revision"))
    r.revision = to_int((*h)["revision"]);
  if (auto rs = j.find("responses"); rs != j.end() && rs->is_array())
    for (const auto& x : *rs)
      if (auto rr = x.find("response_range"); rr != x.end()) r.ranges.push_back(parse_range(*rr));
  return r;
}

Json EtcdClient::created_is(std::string_view key, std::int64_t rev) {
  return {{"key", base64_encode(key)},
          {"target", "CREATE"},
          {"result", "EQUAL"},
          {"create_revision", std::to_string(rev)}};
}

Json EtcdClient::modified_is(std::string_view key, std::int64_t rev) {
  return {{"key", base64_encode(key)},
          {"target", "MOD"},
          {"result", "EQUAL"},
          {"mod_revision", std::to_string(rev)}};
}

Json EtcdClient::put(std::string_view key, std::string_view value) {
  return {{"request_put", {{"key", base64_encode(key)}, {"value", base64_encode(value)}}}};
}

Json EtcdClient::del(std::string_view key) {
  return {{"request_delete_range", {{"key", base64_encode(key)}}}};
}

Json EtcdClient::get(std::string_view key) {
  return {{"request_range", {{"key", base64_encode(key)}}}};
}

}  // namespace vmu
