#include "net/lease_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "state/state.hpp"
#include "util/error.hpp"
#include "util/lock.hpp"

namespace vmu {

namespace {
constexpr std::size_t kMaxStoreBytes = 64u << 20;
}

const Lease* PoolState::find(const std::string& id) const {
  auto it = std::find_if(leases.begin(), leases.end(), [&](const Lease& l) { return l.id == id; });
  return it == leases.end() ? nullptr : &*it;
}

const Lease* PoolState::find(Ipv4 ip) const {
  auto it = std::find_if(leases.begin(), leases.end(), [&](const Lease& l) { return l.ip == ip; });
  return it == leases.end() ? nullptr : &*it;
}

nlohmann::json to_json(const PoolState& p) {
  nlohmann::json leases = nlohmann::json::array();
  for (const auto& l : p.leases) {
    nlohmann::json j = {{"id", l.id},
                        {"ip", l.ip.str()},
                        {"mac", l.mac},
                        {"created", l.created},
                        {"boot_id", l.boot_id}};
    if (!l.tap.empty()) j["tap"] = l.tap;
    if (!l.bridge.empty()) j["bridge"] = l.bridge;
    if (!l.dhcp_host_file.empty()) j["dhcp_host_file"] = l.dhcp_host_file;
    leases.push_back(std::move(j));
  }
  nlohmann::json j = {{"v", 1},
                      {"pool", p.pool.str()},
                      {"gateway", p.gateway.str()},
                      {"leases", std::move(leases)}};
  if (p.cursor) j["cursor"] = p.cursor->str();
  return j;
}

PoolState pool_from_json(const nlohmann::json& j, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    return Error(Exit::failed, "bad_lease_store",
                 fmt::format("lease store '{}' is malformed: {}", origin, why));
  };
  try {
    PoolState p;
    p.pool = Cidr::parse(j.at("pool").get<std::string>());
    auto gw = Ipv4::parse(j.at("gateway").get<std::string>());
    if (!gw) throw bad("bad gateway");
    p.gateway = *gw;
    if (j.contains("cursor")) {
      auto c = Ipv4::parse(j.at("cursor").get<std::string>());
      if (!c) throw bad("bad cursor");
      p.cursor = *c;
    }
    for (const auto& lj : j.at("leases")) {
      Lease l;
      l.id = lj.at("id").get<std::string>();
      auto ip = Ipv4::parse(lj.at("ip").get<std::string>());
      if (!ip) throw bad(fmt::format("lease '{}' has a bad address", l.id));
      l.ip = *ip;
      l.mac = lj.at("mac").get<std::string>();
      l.created = lj.value("created", "");
      l.boot_id = lj.value("boot_id", "");
      l.tap = lj.value("tap", "");
      l.bridge = lj.value("bridge", "");
      l.dhcp_host_file = lj.value("dhcp_host_file", "");
      p.leases.push_back(std::move(l));
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  } catch (const Error& e) {
    if (e.reason() == "bad_lease_store") throw;
    throw bad(e.what());
  }
}

FileLeaseStore::FileLeaseStore(std::filesystem::path dir, WriteHook hook)
    : dir_(std::move(dir)), hook_(std::move(hook)) {}

std::filesystem::path FileLeaseStore::store_path(const Cidr& pool) const {
  return dir_ / (pool.file_stem() + ".json");
}

void FileLeaseStore::update(const Cidr& pool, Ipv4 gateway_if_new,
                            const std::function<void(PoolState&)>& change) {
  make_dirs(dir_, 0755);
  const auto path = store_path(pool);
  FileLock lock =
      FileLock::acquire(dir_ / (pool.file_stem() + ".lock"), LockMode::exclusive, kLockDeadline);
  if (hook_) hook_("locked");
  // A writer killed before its rename left only a temp file: clear those.
  remove_stale_temps(dir_, path.filename().string());
  PoolState state;
  if (auto text = read_file_if_exists(path, kMaxStoreBytes)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      throw Error(Exit::failed, "bad_lease_store",
                  fmt::format("lease store '{}' is not JSON: {}", path.string(), e.what()));
    }
    state = pool_from_json(j, path.string());
  } else {
    state.pool = pool;
    state.gateway = gateway_if_new;
  }
  change(state);
  // One line, no indentation: the store is parsed and rewritten on every
  // allocation, and its size is most of an allocation's cost.
  write_file_atomic(path, to_json(state).dump() + "\n", 0644, hook_);
}

std::vector<PoolState> FileLeaseStore::snapshot() {
  std::vector<PoolState> out;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".json") && !name.starts_with(".")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    // Renames are atomic, so a plain read sees one whole version.
    auto text = read_file_if_exists(f, kMaxStoreBytes);
    if (!text) continue;
    try {
      out.push_back(pool_from_json(nlohmann::json::parse(*text), f.string()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(Exit::failed, "bad_lease_store",
                  fmt::format("lease store '{}' is not JSON: {}", f.string(), e.what()));
    }
  }
  return out;
}

}  // namespace vmu
