#include "net/etcd_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>

#include <mutex>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"

namespace vmu {

using Json = nlohmann::json;

namespace {

constexpr std::int64_t kPage = 1000;

std::string padded(Ipv4 ip) {
  return fmt::format("{:03}.{:03}.{:03}.{:03}", ip.value >> 24, (ip.value >> 16) & 255,
                     (ip.value >> 8) & 255, ip.value & 255);
}

std::optional<Ipv4> unpadded(std::string_view s) {
  if (s.size() != 15) return std::nullopt;
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    auto part = s.substr(static_cast<std::size_t>(i) * 4, 3);
    if (i < 3 && s[static_cast<std::size_t>(i) * 4 + 3] != '.') return std::nullopt;
    unsigned o = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      o = o * 10 + static_cast<unsigned>(c - '0');
    }
    if (o > 255) return std::nullopt;
    v = v << 8 | o;
  }
  return Ipv4{v};
}

bool valid_host_id(std::string_view h) {
  if (h.empty() || h.size() > 64) return false;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

class EtcdRegistry final : public RecordRegistry {
 public:
  EtcdRegistry(std::shared_ptr<EtcdClient> etcd, std::string prefix, std::string host)
      : etcd_(std::move(etcd)), prefix_(std::move(prefix)), host_(std::move(host)) {}
  // Serialised: tools save records from several pipeline jobs, and one
  // client (one curl handle) is not for two threads at once.
  void put(const Record& r) override {
    const Json v = {{"v", 1}, {"host", host_}, {"record", r.json()}};
    std::lock_guard lock(mu_);
    etcd_->txn(Json::array(),
               Json::array({EtcdClient::put(
                   key(r.id()), v.dump(-1, ' ', false, Json::error_handler_t::replace))}),
               Json::array());
  }
  void remove(const std::string& id) override {
    std::lock_guard lock(mu_);
    etcd_->txn(Json::array(), Json::array({EtcdClient::del(key(id))}), Json::array());
  }

 private:
  std::mutex mu_;
  std::string key(const std::string& id) const { return prefix_ + "/vms/" + id; }
  std::shared_ptr<EtcdClient> etcd_;
  std::string prefix_;
  std::string host_;
};

}  // namespace

std::string local_host_id() {
  if (const char* e = std::getenv("VMUTILS_HOST_ID"); e && *e) {
    if (!valid_host_id(e))
      throw Error(Exit::usage, "bad_host_id",
                  fmt::format("$VMUTILS_HOST_ID '{}' is not a host name (1 to 64 of A-Z, a-z, "
                              "0-9, '.', '_', '-')",
                              e));
    return e;
  }
  auto text = read_file_if_exists("/etc/machine-id", 4096);
  std::string id = text.value_or("");
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  if (!valid_host_id(id))
    throw Error(Exit::failed, "no_host_id",
                "this host has no name for the shared store: set VMUTILS_HOST_ID, or create "
                "/etc/machine-id (systemd-machine-id-setup)");
  return id;
}

EtcdLeaseStore::EtcdLeaseStore(const EtcdUrl& url, std::string host, fs::path lock_dir,
                               std::shared_ptr<EtcdClient> client)
    : etcd_(client ? std::move(client) : std::make_shared<EtcdClient>(url.endpoints)),
      url_(url),
      host_(std::move(host)),
      lock_dir_(std::move(lock_dir)) {}

std::string EtcdLeaseStore::describe() const {
  std::string eps;
  for (const auto& e : url_.endpoints) eps += (eps.empty() ? "" : ",") + e;
  return fmt::format("etcd://{}{}", eps, url_.prefix);
}

std::string EtcdLeaseStore::pool_key(const Cidr& pool) const {
  return url_.prefix + "/pools/" + pool.file_stem();
}

std::string EtcdLeaseStore::lease_key(const Cidr& pool, Ipv4 ip) const {
  return pool_key(pool) + "/leases/" + padded(ip);
}

std::vector<EtcdKv> EtcdLeaseStore::range_all(const std::string& from, const std::string& to) {
  // Pages of one revision: a consistent view however many keys there are.
  std::vector<EtcdKv> out;
  std::string key = from;
  std::int64_t rev = 0;
  for (;;) {
    auto r = etcd_->range(key, to, kPage, false, rev);
    if (rev == 0) rev = r.revision;
    for (auto& kv : r.kvs) out.push_back(std::move(kv));
    if (!r.more || out.empty()) break;
    key = out.back().key + std::string(1, '\0');
  }
  return out;
}

LeaseStore::Claimed EtcdLeaseStore::claim(const Cidr& pool, std::optional<Ipv4> gateway,
                                          const std::function<Lease(Ipv4)>& make) {
  const std::string pk = pool_key(pool);
  const std::string config_key = pk + "/config", cursor_key = pk + "/cursor";
  // The pool's config and cursor in one read (they are the keys in [c, d)).
  auto head = etcd_->range(pk + "/c", pk + "/d");
  std::optional<std::string> config;
  std::optional<Ipv4> cursor;
  for (const auto& kv : head.kvs) {
    if (kv.key == config_key) config = kv.value;
    if (kv.key == cursor_key) cursor = Ipv4::parse(kv.value);
  }
  if (!config) {
    const std::string mine = pool_config_to_json({pool, gateway.value_or(pool.first_host())});
    auto r = etcd_->txn(Json::array({EtcdClient::created_is(config_key, 0)}),
                        Json::array({EtcdClient::put(config_key, mine)}),
                        Json::array({EtcdClient::get(config_key)}));
    if (r.succeeded)
      config = mine;
    else if (!r.ranges.empty() && !r.ranges[0].kvs.empty())
      config = r.ranges[0].kvs[0].value;
    else
      throw Error(Exit::failed, "etcd_error",
                  fmt::format("creating pool {} in {} failed", pool.str(), describe()));
  }
  const PoolConfig c = pool_config_from_json(*config, pool, describe() + " key " + config_key);
  if (gateway && *gateway != c.gateway)
    throw Error(Exit::usage, "bad_gateway",
                fmt::format("pool {} was set up with gateway {}, not {}", c.pool.str(),
                            c.gateway.str(), gateway->str()));

  const std::uint32_t first = pool.first_host().value;
  const std::uint32_t last = pool.last_host().value;
  std::uint32_t start = first;
  if (cursor && cursor->value >= first && cursor->value < last) start = cursor->value + 1;
  // Two segments: after the cursor, then from the start of the pool.
  std::pair<std::uint32_t, std::uint32_t> segments[2] = {{start, last}, {first, start - 1}};
  std::minstd_rand rng(std::random_device{}());
  unsigned lost = 0;  // transactions lost to other writers so far
  unsigned skip = 0;  // free addresses to pass over, to spread contending writers
  for (auto [from, to] : segments) {
    if (from > to) continue;
    std::uint32_t pos = from;
    while (pos <= to) {
      const std::string end = lease_key(pool, Ipv4{to}) + std::string(1, '\0');
      auto page = etcd_->range(lease_key(pool, Ipv4{pos}), end, 256, true);
      std::vector<std::uint32_t> taken;
      for (const auto& kv : page.kvs)
        if (auto ip = unpadded(std::string_view(kv.key).substr(kv.key.rfind('/') + 1)))
          taken.push_back(ip->value);
      const std::uint32_t upto = page.more && !taken.empty() ? taken.back() : to;
      std::size_t t = 0;
      for (std::uint64_t a = pos; a <= upto; ++a) {
        const Ipv4 cand{static_cast<std::uint32_t>(a)};
        while (t < taken.size() && taken[t] < cand.value) ++t;
        if ((t < taken.size() && taken[t] == cand.value) || cand == c.gateway) continue;
        if (skip > 0) {
          --skip;
          continue;
        }
        Lease l = make(cand);
        l.ip = cand;
        const std::string key = lease_key(pool, cand);
        const std::string value = lease_to_json(l);
        auto r = etcd_->txn(
            Json::array({EtcdClient::created_is(key, 0)}),
            Json::array({EtcdClient::put(key, value), EtcdClient::put(cursor_key, cand.str())}),
            Json::array({EtcdClient::get(key)}));
        if (r.succeeded) {
          l.revision = r.revision;
          return {c.gateway, std::move(l)};
        }
        // Our own transaction, committed before a retry on another member.
        if (!r.ranges.empty() && !r.ranges[0].kvs.empty() && r.ranges[0].kvs[0].value == value) {
          l.revision = r.ranges[0].kvs[0].mod_revision;
          return {c.gateway, std::move(l)};
        }
        ++lost;
        skip = static_cast<unsigned>(rng() % (1 + std::min(lost, 8u)));
      }
      if (upto >= to) break;
      pos = upto + 1;
    }
  }
  // Passed over free addresses at the very end: look once more without skipping.
  if (skip > 0 && lost > 0) return claim(pool, gateway, make);
  throw Error(Exit::exhausted, "pool_exhausted",
              fmt::format("pool {} is exhausted: all {} leasable addresses are leased in {} (see "
                          "'vmnet-alloc list --all-hosts'; 'vmnet-alloc gc' frees stale leases)",
                          pool.str(), std::uint64_t{last} - first, describe()));
}

bool EtcdLeaseStore::free(const Cidr& pool, const Lease& lease,
                          const std::function<void()>& before) {
  // This host's frees are serialised (its devices are deleted in `before`);
  // other hosts only free their own leases, or this one's by `gc --host`
  // when it is gone, and the mod revision compare settles those.
  make_dirs(lock_dir_, 0755);
  FileLock lock = FileLock::acquire(lock_dir_ / (pool.file_stem() + ".etcd.lock"),
                                    LockMode::exclusive, kLockDeadline);
  const std::string key = lease_key(pool, lease.ip);
  auto r = etcd_->range(key);
  if (r.kvs.empty()) return false;
  const Lease there = lease_from_json(r.kvs[0].value, describe() + " key " + key);
  if (there.id != lease.id || there.created != lease.created || there.host != lease.host ||
      (lease.revision != 0 && r.kvs[0].mod_revision != lease.revision))
    return false;
  if (before) before();
  auto t = etcd_->txn(Json::array({EtcdClient::modified_is(key, r.kvs[0].mod_revision)}),
                      Json::array({EtcdClient::del(key)}), Json::array({EtcdClient::get(key)}));
  // Deleted by us, or by our request retried on another member.
  return t.succeeded || t.ranges.empty() || t.ranges[0].kvs.empty();
}

std::optional<Lease> EtcdLeaseStore::find(const Cidr& pool, Ipv4 ip) {
  const std::string key = lease_key(pool, ip);
  auto r = etcd_->range(key);
  if (r.kvs.empty()) return std::nullopt;
  Lease l = lease_from_json(r.kvs[0].value, describe() + " key " + key);
  l.revision = r.kvs[0].mod_revision;
  return l;
}

std::vector<PoolState> EtcdLeaseStore::snapshot() {
  const std::string from = url_.prefix + "/pools/";
  std::map<std::string, PoolState> pools;
  std::map<std::string, std::vector<Lease>> leases;
  for (const auto& kv : range_all(from, prefix_end(from))) {
    std::string_view rest = std::string_view(kv.key).substr(from.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string stem(rest.substr(0, slash));
    std::string_view what = rest.substr(slash + 1);
    const std::string origin = describe() + " key " + kv.key;
    if (what == "config") {
      const auto us = stem.rfind('_');
      Cidr pool;
      try {
        pool = Cidr::parse(stem.substr(0, us) + "/" + stem.substr(us + 1));
      } catch (const Error&) {
        continue;  // not a pool of ours
      }
      const PoolConfig c = pool_config_from_json(kv.value, pool, origin);
      pools[stem] = PoolState{c.pool, c.gateway, {}};
    } else if (what.starts_with("leases/")) {
      Lease l = lease_from_json(kv.value, origin);
      auto ip = unpadded(what.substr(7));
      if (!ip || *ip != l.ip)
        throw Error(Exit::failed, "bad_lease_store",
                    fmt::format("lease store {} is malformed: key '{}' holds {}", describe(),
                                kv.key, l.ip.str()));
      l.revision = kv.mod_revision;
      leases[stem].push_back(std::move(l));
    }
  }
  std::vector<PoolState> out;
  for (auto& [stem, p] : pools) {
    p.leases = std::move(leases[stem]);  // keys sort by address
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const PoolState& a, const PoolState& b) {
    return a.pool.network() < b.pool.network() ||
           (a.pool.network() == b.pool.network() && a.pool.prefix() < b.pool.prefix());
  });
  return out;
}

std::vector<EtcdLeaseStore::Mirrored> EtcdLeaseStore::records() {
  const std::string from = url_.prefix + "/vms/";
  std::vector<Mirrored> out;
  for (const auto& kv : range_all(from, prefix_end(from))) {
    Json j;
    try {
      j = Json::parse(kv.value);
    } catch (const Json::exception&) {
      throw Error(Exit::failed, "bad_lease_store",
                  fmt::format("{} key '{}' is not JSON", describe(), kv.key));
    }
    if (!j.is_object() || !j.contains("record") || !j["record"].is_object()) continue;
    out.push_back({kv.key.substr(from.size()), j.value("host", ""), j["record"]});
  }
  return out;
}

std::shared_ptr<RecordRegistry> EtcdLeaseStore::registry() {
  return std::make_shared<EtcdRegistry>(etcd_, url_.prefix, host_);
}

namespace {

// Exit::usage unless `spec` is "host" (or empty) or etcd://...
bool is_etcd_spec(const std::string& spec) {
  if (spec.empty() || spec == "host") return false;
  if (!spec.starts_with("etcd://"))
    throw Error(Exit::usage, "bad_store",
                fmt::format("store '{}': use 'host' (the state folder's leases) or "
                            "etcd://HOST:PORT[,HOST:PORT...]/PREFIX",
                            spec));
  return true;
}

}  // namespace

std::shared_ptr<RecordRegistry> open_record_registry(const std::string& spec) {
  if (!is_etcd_spec(spec)) return nullptr;
  const EtcdUrl url = EtcdUrl::parse(spec);
  return std::make_shared<EtcdRegistry>(std::make_shared<EtcdClient>(url.endpoints), url.prefix,
                                        local_host_id());
}

OpenedStore open_lease_store(const std::string& spec, const State& state) {
  OpenedStore o;
  if (!is_etcd_spec(spec)) {
    o.store = std::make_unique<FileLeaseStore>(state.leases_dir());
    return o;
  }
  const EtcdUrl url = EtcdUrl::parse(spec);
  o.host = local_host_id();
  auto etcd = std::make_unique<EtcdLeaseStore>(url, o.host, state.leases_dir());
  o.etcd = etcd.get();
  o.store = std::move(etcd);
  return o;
}

}  // namespace vmu
