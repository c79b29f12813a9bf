#include "net/lease_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "record/record.hpp"
#include "state/state.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/lock.hpp"
#include "util/proc.hpp"

namespace vmu {

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxV1StoreBytes = 64u << 20;
constexpr std::size_t kMaxLeaseBytes = 64u << 10;
constexpr std::size_t kMaxConfigBytes = 64u << 10;
constexpr std::size_t kCursorBytes = 16;  // "255.255.255.255" and a newline

Error bad_store(const std::string& origin, const std::string& why) {
  return Error(Exit::failed, "bad_lease_store",
               fmt::format("lease store '{}' is malformed: {}", origin, why));
}

Error newer_store(const std::string& origin, const Json& v) {
  return Error(Exit::failed, "newer_lease_store",
               fmt::format("lease store '{}' was written by a newer vmutils (format v{}; this one "
                           "reads up to v{}): upgrade vmutils, it is left untouched",
                           origin, v.dump(), kLeaseStoreVersion));
}

// The "v" of a store: a positive integer; newer than this build is refused.
int store_version(const Json& j, const std::string& origin) {
  if (!j.is_object()) throw bad_store(origin, "not a JSON object");
  auto it = j.find("v");
  if (it == j.end()) throw bad_store(origin, "no \"v\"");
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > kLeaseStoreVersion)
    throw newer_store(origin, *it);
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
    throw bad_store(origin, fmt::format("\"v\" is {}, not a version", it->dump()));
  return static_cast<int>(it->get<std::int64_t>());
}

Json parse_json(std::string_view text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(Exit::failed, "bad_lease_store",
                fmt::format("lease store '{}' is not JSON: {}", origin, e.what()));
  }
}

Ipv4 parse_ip_field(const Json& j, const char* key, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) throw bad_store(origin, fmt::format("no \"{}\"", key));
  auto ip = Ipv4::parse(it->get<std::string>());
  if (!ip) throw bad_store(origin, fmt::format("\"{}\" is not an address: {}", key, it->dump()));
  return *ip;
}

Cidr parse_pool_field(const Json& j, const std::string& origin) {
  auto it = j.find("pool");
  if (it == j.end() || !it->is_string()) throw bad_store(origin, "no \"pool\"");
  try {
    return Cidr::parse(it->get<std::string>());
  } catch (const Error& e) {
    throw bad_store(origin, e.what());
  }
}

// The stored pool must be the one asked for (the file's name says it too).
void check_pool(const Cidr& stored, const Cidr& wanted, const std::string& origin) {
  if (stored != wanted)
    throw Error(Exit::failed, "bad_lease_store",
                fmt::format("lease store '{}' holds pool {}, not {}: it was renamed or edited; "
                            "move it back or remove it",
                            origin, stored.str(), wanted.str()));
}

std::string ip_name(Ipv4 ip) {
  return ip.str();
}

std::optional<Cidr> pool_from_stem(std::string_view stem) {
  auto us = stem.rfind('_');
  if (us == std::string_view::npos) return std::nullopt;
  try {
    Cidr c = Cidr::parse(fmt::format("{}/{}", stem.substr(0, us), stem.substr(us + 1)));
    if (c.file_stem() != stem) return std::nullopt;
    return c;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Names of temporary files and folders carry their writer's pid and start
// time (".<what>.<pid>.<start>.<n>"), so a leftover is recognised as a dead
// writer's and removed without a lock.
std::string temp_name(std::string_view what, unsigned n) {
  const pid_t pid = ::getpid();
  return fmt::format(".{}.{}.{}.{}", what, pid, process_start_time(pid).value_or(0), n);
}

bool temp_owner_dead(std::string_view name) {
  // ... .<pid>.<start>.<n>
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    auto dot = name.find('.', pos);
    if (dot == std::string_view::npos) dot = name.size();
    parts.push_back(name.substr(pos, dot - pos));
    pos = dot + 1;
  }
  if (parts.size() < 4) return false;
  auto num = [](std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  std::uint64_t pid = 0, start = 0;
  if (!num(parts[parts.size() - 3], pid) || !num(parts[parts.size() - 2], start) || pid == 0)
    return false;
  return !process_alive(static_cast<pid_t>(pid),
                        start == 0 ? std::nullopt : std::optional<std::uint64_t>(start));
}

Fd open_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd && errno != ENOENT) throw sys_error(fmt::format("opening '{}'", dir.string()), errno);
  return fd;
}

void write_all_fd(int fd, std::string_view data, const fs::path& shown) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error(fmt::format("writing '{}'", shown.string()), errno);
    off += static_cast<std::size_t>(n);
  }
}

// Publishes `data` under `name` in the folder `dirfd` if nothing has that
// name: whole or not at all, whatever instant the writer is killed. The file
// is written unnamed (O_TMPFILE) and linked; where O_TMPFILE or /proc is not
// available, a named temporary file is linked instead. false: `name` exists.
class Publisher {
 public:
  Publisher(int dirfd, fs::path dir, WriteHook hook)
      : dirfd_(dirfd), dir_(std::move(dir)), hook_(std::move(hook)) {}

  bool publish(const std::string& name, std::string_view data) {
    if (!named_) {
      Fd fd(::openat(dirfd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
      if (fd) {
        write_all_fd(fd.get(), data, dir_ / name);
        if (hook_) hook_("claim-written");
        const std::string proc = fmt::format("/proc/self/fd/{}", fd.get());
        if (::linkat(AT_FDCWD, proc.c_str(), dirfd_, name.c_str(), AT_SYMLINK_FOLLOW) == 0)
          return done();
        if (errno == EEXIST) return false;
        if (errno != ENOENT && errno != EPERM && errno != EXDEV)
          throw sys_error(fmt::format("linking lease '{}'", (dir_ / name).string()), errno);
      } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        throw sys_error(fmt::format("creating a lease in '{}'", dir_.string()), errno);
      }
      named_ = true;  // this file system (or /proc) cannot: use a named temp
    }
    const std::string tmp = temp_name("claim", counter_++);
    {
      Fd fd(::openat(dirfd_, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
      if (!fd) throw sys_error(fmt::format("creating '{}'", (dir_ / tmp).string()), errno);
      write_all_fd(fd.get(), data, dir_ / tmp);
    }
    if (hook_) hook_("claim-written");
    const int rc = ::linkat(dirfd_, tmp.c_str(), dirfd_, name.c_str(), 0);
    const int err = errno;
    ::unlinkat(dirfd_, tmp.c_str(), 0);
    if (rc == 0) return done();
    if (err == EEXIST) return false;
    throw sys_error(fmt::format("linking lease '{}'", (dir_ / name).string()), err);
  }

 private:
  bool done() {
    if (hook_) hook_("claim-linked");
    return true;
  }
  int dirfd_;
  fs::path dir_;
  WriteHook hook_;
  bool named_ = false;
  unsigned counter_ = 0;
};

// When this boot began (btime of /proc/stat), in seconds since the epoch.
std::optional<std::time_t> boot_time() {
  auto text = read_file_if_exists("/proc/stat", 1u << 20);
  if (!text) return std::nullopt;
  auto pos = text->find("\nbtime ");
  if (pos == std::string::npos) return std::nullopt;
  std::time_t t = 0;
  const char* b = text->data() + pos + 7;
  auto [p, ec] = std::from_chars(b, text->data() + text->size(), t);
  if (ec != std::errc()) return std::nullopt;
  return t;
}

std::optional<Ipv4> read_cursor(int dirfd) {
  Fd fd(::openat(dirfd, "cursor", O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[kCursorBytes + 1] = {};
  ssize_t n = ::pread(fd.get(), buf, kCursorBytes, 0);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return Ipv4::parse(s);  // a torn or odd cursor is only a worse hint
}

// One fixed-size pwrite: the cursor is a hint, and a reader that sees a torn
// one starts from the pool's first address, which is merely slower.
void write_cursor(int dirfd, Ipv4 ip) {
  Fd fd(::openat(dirfd, "cursor", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return;
  const std::string s = fmt::format("{:<15}\n", ip.str());
  (void)!::pwrite(fd.get(), s.data(), s.size(), 0);
}

// Version 1, one file per pool: parsed and checked, never rewritten.
struct V1Store {
  Json config;               // the pool-level fields, "leases" and "cursor" removed
  std::vector<Json> leases;  // verbatim, fields not known kept
  PoolState state;           // state.leases[i] is leases[i], in the file's order
  std::optional<Ipv4> cursor;
};

V1Store parse_v1(const std::string& text, const Cidr& wanted, const std::string& origin) {
  Json j = parse_json(text, origin);
  const int v = store_version(j, origin);
  if (v != 1)
    throw bad_store(origin, fmt::format("version {} belongs in a folder, not a .json file", v));
  V1Store s;
  s.state.pool = parse_pool_field(j, origin);
  check_pool(s.state.pool, wanted, origin);
  s.state.gateway = parse_ip_field(j, "gateway", origin);
  if (!s.state.pool.is_host(s.state.gateway))
    throw bad_store(origin, fmt::format("gateway {} is not in pool {}", s.state.gateway.str(),
                                        s.state.pool.str()));
  if (auto c = j.find("cursor"); c != j.end() && c->is_string())
    s.cursor = Ipv4::parse(c->get<std::string>());
  auto it = j.find("leases");
  if (it == j.end() || !it->is_array()) throw bad_store(origin, "no \"leases\" list");
  std::set<std::uint32_t> ips;
  std::set<std::string> ids;
  for (const auto& lj : *it) {
    Lease l = lease_from_json(lj.dump(), origin);
    if (!s.state.pool.is_host(l.ip) || l.ip == s.state.gateway)
      throw bad_store(origin, fmt::format("lease '{}' holds {}, which pool {} does not lease", l.id,
                                          l.ip.str(), s.state.pool.str()));
    if (!ips.insert(l.ip.value).second)
      throw bad_store(origin, fmt::format("address {} is leased twice", l.ip.str()));
    if (!ids.insert(l.id).second)
      throw bad_store(origin, fmt::format("VM '{}' holds two leases", l.id));
    s.state.leases.push_back(std::move(l));
    s.leases.push_back(lj);
  }
  j.erase("leases");
  j.erase("cursor");
  j["v"] = kLeaseStoreVersion;
  s.config = std::move(j);
  return s;
}

}  // namespace

const Lease* PoolState::find(const std::string& id) const {
  auto it = std::find_if(leases.begin(), leases.end(), [&](const Lease& l) { return l.id == id; });
  return it == leases.end() ? nullptr : &*it;
}

const Lease* PoolState::find(Ipv4 ip) const {
  auto it = std::find_if(leases.begin(), leases.end(), [&](const Lease& l) { return l.ip == ip; });
  return it == leases.end() ? nullptr : &*it;
}

std::string lease_to_json(const Lease& l) {
  Json j = {{"id", l.id},
            {"ip", l.ip.str()},
            {"mac", l.mac},
            {"created", l.created},
            {"boot_id", l.boot_id}};
  if (!l.tap.empty()) j["tap"] = l.tap;
  if (!l.bridge.empty()) j["bridge"] = l.bridge;
  if (!l.dhcp_host_file.empty()) j["dhcp_host_file"] = l.dhcp_host_file;
  if (!l.host.empty()) j["host"] = l.host;
  return j.dump();
}

Lease lease_from_json(std::string_view text, const std::string& origin) {
  const Json j = parse_json(text, origin);
  if (!j.is_object()) throw bad_store(origin, "a lease is not a JSON object");
  auto str = [&](const char* key, bool required) -> std::string {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) throw bad_store(origin, fmt::format("a lease has no \"{}\"", key));
      return {};
    }
    if (!it->is_string()) throw bad_store(origin, fmt::format("a lease's \"{}\" is not text", key));
    return it->get<std::string>();
  };
  Lease l;
  l.id = str("id", true);
  if (!valid_vm_id(l.id))
    throw bad_store(origin, fmt::format("a lease names VM '{}', not a valid id", l.id));
  auto ip = Ipv4::parse(str("ip", true));
  if (!ip) throw bad_store(origin, fmt::format("lease '{}' has a bad address", l.id));
  l.ip = *ip;
  l.mac = str("mac", true);
  l.created = str("created", false);
  l.boot_id = str("boot_id", false);
  l.tap = str("tap", false);
  l.bridge = str("bridge", false);
  l.dhcp_host_file = str("dhcp_host_file", false);
  l.host = str("host", false);
  if ((!l.tap.empty() && !valid_ifname(l.tap)) || (!l.bridge.empty() && !valid_ifname(l.bridge)))
    throw bad_store(origin, fmt::format("lease '{}' names an invalid interface", l.id));
  return l;
}

FileLeaseStore::FileLeaseStore(std::filesystem::path dir, WriteHook hook)
    : dir_(std::move(dir)), hook_(std::move(hook)) {}

fs::path FileLeaseStore::pool_dir(const Cidr& pool) const {
  return dir_ / pool.file_stem();
}

std::string pool_config_to_json(const PoolConfig& c) {
  return Json{{"v", kLeaseStoreVersion}, {"pool", c.pool.str()}, {"gateway", c.gateway.str()}}
      .dump();
}

PoolConfig pool_config_from_json(std::string_view text, const Cidr& wanted,
                                 const std::string& origin) {
  const Json j = parse_json(text, origin);
  store_version(j, origin);
  PoolConfig c{parse_pool_field(j, origin), parse_ip_field(j, "gateway", origin)};
  check_pool(c.pool, wanted, origin);
  if (!c.pool.is_host(c.gateway))
    throw bad_store(origin,
                    fmt::format("gateway {} is not in pool {}", c.gateway.str(), c.pool.str()));
  return c;
}

PoolConfig FileLeaseStore::read_config(const Cidr& pool) const {
  const fs::path path = pool_dir(pool) / "pool.json";
  auto text = read_file_if_exists(path, kMaxConfigBytes);
  if (!text) throw Error(Exit::failed, "no_pool", path.string());
  return pool_config_from_json(*text, pool, path.string());
}

// The pool's folder, created whole (pool.json in a temp folder renamed into
// place) so that a reader never sees a folder without its configuration.
PoolConfig FileLeaseStore::open_pool(const Cidr& pool, std::optional<Ipv4> gateway) {
  const fs::path v1 = dir_ / (pool.file_stem() + ".json");
  if (::access(v1.c_str(), F_OK) == 0) migrate_v1(pool);
  const fs::path pd = pool_dir(pool);
  if (::access((pd / "pool.json").c_str(), F_OK) != 0) {
    make_dirs(dir_, kStateDirMode);
    const fs::path tmp = dir_ / temp_name(pool.file_stem() + ".new", 0);
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (::mkdir(tmp.c_str(), kStateDirMode) != 0)
      throw sys_error(fmt::format("creating '{}'", tmp.string()), errno);
    const std::string cfg = pool_config_to_json({pool, gateway.value_or(pool.first_host())}) + "\n";
    try {
      Fd fd(::open((tmp / "pool.json").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
      if (!fd) throw sys_error(fmt::format("creating '{}'", (tmp / "pool.json").string()), errno);
      write_all_fd(fd.get(), cfg, tmp / "pool.json");
    } catch (...) {
      fs::remove_all(tmp, ec);
      throw;
    }
    // Another writer may have created it first: then theirs stands.
    if (::rename(tmp.c_str(), pd.c_str()) != 0) {
      const int err = errno;
      fs::remove_all(tmp, ec);
      if (err != EEXIST && err != ENOTEMPTY)
        throw sys_error(fmt::format("creating '{}'", pd.string()), err);
    }
  }
  PoolConfig c = read_config(pool);
  if (gateway && *gateway != c.gateway)
    throw Error(Exit::usage, "bad_gateway",
                fmt::format("pool {} was set up with gateway {}, not {}", c.pool.str(),
                            c.gateway.str(), gateway->str()));
  return c;
}

void FileLeaseStore::migrate_v1(const Cidr& pool) {
  const std::string stem = pool.file_stem();
  const fs::path v1 = dir_ / (stem + ".json");
  FileLock lock = FileLock::acquire(dir_ / (stem + ".lock"), LockMode::exclusive, kLockDeadline);
  auto text = read_file_if_exists(v1, kMaxV1StoreBytes);
  if (!text) return;  // another writer migrated it while we waited
  // v1 writers left temp files when killed; they are garbage now.
  remove_stale_temps(dir_, v1.filename().string());
  V1Store s = parse_v1(*text, pool, v1.string());

  const fs::path pd = pool_dir(pool);
  if (::access((pd / "pool.json").c_str(), F_OK) != 0) {
    const fs::path tmp = dir_ / temp_name(stem + ".new", 1);
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (::mkdir(tmp.c_str(), kStateDirMode) != 0)
      throw sys_error(fmt::format("creating '{}'", tmp.string()), errno);
    Fd fd(::open((tmp / "pool.json").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
    if (!fd) throw sys_error(fmt::format("creating '{}'", (tmp / "pool.json").string()), errno);
    write_all_fd(fd.get(), s.config.dump() + "\n", tmp / "pool.json");
    if (::rename(tmp.c_str(), pd.c_str()) != 0) {
      const int err = errno;
      fs::remove_all(tmp, ec);
      throw sys_error(fmt::format("creating '{}'", pd.string()), err);
    }
  }
  const PoolConfig c = read_config(pool);
  if (c.gateway != s.state.gateway)
    throw bad_store(v1.string(), fmt::format("its gateway {} differs from {} in '{}'",
                                             s.state.gateway.str(), c.gateway.str(), pd.string()));
  Fd dirfd = open_dir(pd);
  if (!dirfd) throw sys_error(fmt::format("opening '{}'", pd.string()), ENOENT);
  Publisher pub(dirfd.get(), pd, {});
  for (std::size_t i = 0; i < s.leases.size(); ++i) {
    const Lease& l = s.state.leases[i];
    if (!pub.publish(ip_name(l.ip), s.leases[i].dump() + "\n")) {
      // Migrated by an earlier, interrupted run; anything else is a conflict.
      auto there = read_lease(pd, pool, l.ip);
      if (!there || there->id != l.id)
        throw bad_store(v1.string(),
                        fmt::format("{} is leased to '{}' there but to '{}' in '{}'", l.ip.str(),
                                    l.id, there ? there->id : "?", pd.string()));
    }
    if (hook_) hook_("migrate-lease");
  }
  if (s.cursor) write_cursor(dirfd.get(), *s.cursor);
  if (::unlink(v1.c_str()) != 0 && errno != ENOENT)
    throw sys_error(fmt::format("removing the migrated '{}'", v1.string()), errno);
  if (hook_) hook_("migrate-done");
}

std::optional<Lease> FileLeaseStore::read_lease(const fs::path& dir, const Cidr& pool,
                                                Ipv4 ip) const {
  const fs::path path = dir / ip_name(ip);
  auto text = read_file_if_exists(path, kMaxLeaseBytes);
  if (!text) return std::nullopt;
  Lease l = lease_from_json(*text, path.string());
  if (l.ip != ip || !pool.contains(ip))
    throw bad_store(path.string(), fmt::format("the file of {} holds {}", ip.str(), l.ip.str()));
  return l;
}

LeaseStore::Claimed FileLeaseStore::claim(const Cidr& pool, std::optional<Ipv4> gateway,
                                          const std::function<Lease(Ipv4)>& make) {
  const PoolConfig c = open_pool(pool, gateway);
  const fs::path pd = pool_dir(pool);
  Fd dirfd = open_dir(pd);
  if (!dirfd) throw sys_error(fmt::format("opening '{}'", pd.string()), ENOENT);

  const std::uint32_t first = pool.first_host().value;
  const std::uint32_t last = pool.last_host().value;
  const std::uint64_t span = std::uint64_t{last} - first + 1;
  // Round-robin from after the last address handed out, so an address just
  // freed is not handed out again at once.
  std::uint32_t start = first;
  if (auto cur = read_cursor(dirfd.get()); cur && cur->value >= first && cur->value < last)
    start = cur->value + 1;
  Publisher pub(dirfd.get(), pd, hook_);
  for (std::uint64_t i = 0; i < span; ++i) {
    const Ipv4 cand{static_cast<std::uint32_t>(first + (start - first + i) % span)};
    if (cand == c.gateway) continue;
    const std::string name = ip_name(cand);
    if (::faccessat(dirfd.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) continue;
    Lease l = make(cand);
    l.ip = cand;
    if (!pub.publish(name, lease_to_json(l) + "\n")) continue;  // another writer won it
    write_cursor(dirfd.get(), cand);
    return {c.gateway, std::move(l)};
  }
  const std::uint64_t leasable = span - 1;
  throw Error(Exit::exhausted, "pool_exhausted",
              fmt::format("pool {} is exhausted: all {} leasable addresses are leased (see "
                          "'vmnet-alloc list'; 'vmnet-alloc gc' frees stale leases)",
                          pool.str(), leasable));
}

bool FileLeaseStore::free(const Cidr& pool, const Lease& lease,
                          const std::function<void()>& before) {
  const std::string stem = pool.file_stem();
  if (::access((dir_ / (stem + ".json")).c_str(), F_OK) == 0) migrate_v1(pool);
  const fs::path pd = pool_dir(pool);
  if (::access(pd.c_str(), F_OK) != 0) return false;
  FileLock lock = FileLock::acquire(dir_ / (stem + ".lock"), LockMode::exclusive, kLockDeadline);
  if (hook_) hook_("free-locked");
  // Claims take no lock, but none can replace a lease that exists, and every
  // free holds this lock: what is read here stays until it is unlinked.
  auto there = read_lease(pd, pool, lease.ip);
  if (!there || there->id != lease.id || there->created != lease.created) return false;
  if (before) before();
  const fs::path path = pd / ip_name(lease.ip);
  if (::unlink(path.c_str()) != 0)
    throw sys_error(fmt::format("freeing lease '{}'", path.string()), errno);
  return true;
}

std::optional<Lease> FileLeaseStore::find(const Cidr& pool, Ipv4 ip) {
  const fs::path v1 = dir_ / (pool.file_stem() + ".json");
  // A store not migrated yet is read as it is: reading changes nothing.
  if (auto text = read_file_if_exists(v1, kMaxV1StoreBytes)) {
    V1Store s = parse_v1(*text, pool, v1.string());
    if (const Lease* l = s.state.find(ip)) return *l;
    return std::nullopt;
  }
  if (::access((pool_dir(pool) / "pool.json").c_str(), F_OK) != 0) return std::nullopt;
  read_config(pool);
  return read_lease(pool_dir(pool), pool, ip);
}

std::vector<PoolState> FileLeaseStore::snapshot() {
  std::vector<PoolState> out;
  std::set<std::string> stems;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(".")) {
      // A dead writer's temp folder (a pool being created).
      if (name.find(".new.") != std::string::npos && temp_owner_dead(name))
        fs::remove_all(e.path(), ec);
      continue;
    }
    std::string stem = name;
    if (name.ends_with(".json"))
      stem = name.substr(0, name.size() - 5);
    else if (!e.is_directory(ec))
      continue;
    if (pool_from_stem(stem)) stems.insert(stem);
  }
  for (const auto& stem : stems) {
    const Cidr pool = *pool_from_stem(stem);
    const fs::path v1 = dir_ / (stem + ".json");
    if (auto text = read_file_if_exists(v1, kMaxV1StoreBytes)) {
      PoolState ps = parse_v1(*text, pool, v1.string()).state;
      std::sort(ps.leases.begin(), ps.leases.end(),
                [](const Lease& a, const Lease& b) { return a.ip < b.ip; });
      out.push_back(std::move(ps));
      continue;
    }
    const fs::path pd = pool_dir(pool);
    if (::access((pd / "pool.json").c_str(), F_OK) != 0) continue;
    const PoolConfig c = read_config(pool);
    PoolState ps{c.pool, c.gateway, {}};
    for (const auto& f : fs::directory_iterator(pd, ec)) {
      const std::string name = f.path().filename().string();
      if (name.starts_with(".")) {
        // A claim's named temp file whose writer died (no O_TMPFILE here).
        if (temp_owner_dead(name)) ::unlink(f.path().c_str());
        continue;
      }
      auto ip = Ipv4::parse(name);
      if (!ip) continue;
      // An empty lease cannot come from a killed writer (a lease is linked
      // whole): its contents were lost in a power cut, so it is of an earlier
      // boot, and it would block its address forever. Removed under the lock.
      struct stat st {};
      if (::stat(f.path().c_str(), &st) == 0 && st.st_size == 0 && boot_time() &&
          st.st_mtime < *boot_time()) {
        FileLock lock =
            FileLock::acquire(dir_ / (stem + ".lock"), LockMode::exclusive, kLockDeadline);
        if (::stat(f.path().c_str(), &st) == 0 && st.st_size == 0) ::unlink(f.path().c_str());
        continue;
      }
      // A lease freed while listing is simply not listed.
      if (auto l = read_lease(pd, pool, *ip)) ps.leases.push_back(std::move(*l));
    }
    if (ec) throw sys_error(fmt::format("listing '{}'", pd.string()), ec.value());
    std::sort(ps.leases.begin(), ps.leases.end(),
              [](const Lease& a, const Lease& b) { return a.ip < b.ip; });
    out.push_back(std::move(ps));
  }
  return out;
}

}  // namespace vmu
