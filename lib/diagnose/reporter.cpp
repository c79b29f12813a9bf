#include "diagnose/reporter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vmu::diagnose {

namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class T>
std::optional<T> parse_num(std::string_view s, int base = 10) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string ipv4_str(std::uint32_t host_order) {
  return fmt::format("{}.{}.{}.{}", host_order >> 24, (host_order >> 16) & 255,
                     (host_order >> 8) & 255, host_order & 255);
}

// /proc prints an address as the raw in-memory u32 in %08X: on a
// little-endian guest the bytes come out reversed.
std::uint32_t from_proc_u32(std::uint32_t v) {
  return ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24);
}

int prefix_len(std::uint32_t mask) {
  int n = 0;
  while (mask & 0x80000000u) {
    ++n;
    mask <<= 1;
  }
  return n;
}

}  // namespace

bool Listener::loopback() const {
  if (!v6) return addr.rfind("127.", 0) == 0;
  return addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

bool Listener::any() const {
  return addr == "0.0.0.0" || addr == "::";
}

std::string Listener::str() const {
  return v6 ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

std::string UnitReport::get(const std::string& key) const {
  auto it = props.find(key);
  return it == props.end() ? std::string() : it->second;
}

std::optional<std::uint32_t> decode_hex_ipv4(std::string_view hex) {
  if (hex.size() != 8) return std::nullopt;
  auto v = parse_num<std::uint32_t>(hex, 16);
  if (!v) return std::nullopt;
  return from_proc_u32(*v);
}

std::optional<Listener> decode_listen(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = parse_num<int>(s.substr(colon + 1), 16);
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  const std::string_view hex = s.substr(0, colon);
  Listener l;
  l.port = *port;
  if (hex.size() == 8) {
    auto a = decode_hex_ipv4(hex);
    if (!a) return std::nullopt;
    l.addr = ipv4_str(*a);
    return l;
  }
  if (hex.size() != 32) return std::nullopt;
  unsigned char bytes[16];
  for (int w = 0; w < 4; ++w) {
    auto v = parse_num<std::uint32_t>(hex.substr(static_cast<std::size_t>(w) * 8, 8), 16);
    if (!v) return std::nullopt;
    // Each 32-bit word is printed in host order: bytes reversed on little-endian.
    for (int b = 0; b < 4; ++b)
      bytes[w * 4 + b] = static_cast<unsigned char>((*v >> (8 * b)) & 0xFF);
  }
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, bytes, buf, sizeof buf)) return std::nullopt;
  l.addr = buf;
  l.v6 = true;
  return l;
}

std::vector<Listener> Report::listening_on(int p) const {
  std::vector<Listener> out;
  for (const auto& l : listeners)
    if (l.port == p) out.push_back(l);
  return out;
}

const UnitReport* Report::unit(std::string_view name) const {
  for (const auto& u : units)
    if (u.name == name) return &u;
  return nullptr;
}

std::string Report::summary() const {
  std::vector<std::string> parts;
  std::vector<std::string> ls;
  for (const auto& l : listeners) ls.push_back(l.str());
  parts.push_back(ls.empty() ? "nothing listens on TCP"
                             : fmt::format("listening: {}", fmt::join(ls, ", ")));
  for (const auto& i : ifaces) {
    std::string s = fmt::format("{} {}", i.name, i.operstate);
    if (i.carrier == "0") s += " (no carrier)";
    s += i.addrs.empty() ? " no IPv4 address" : " " + fmt::format("{}", fmt::join(i.addrs, ","));
    if (!i.networkd_admin.empty()) s += fmt::format(" (networkd: {})", i.networkd_admin);
    parts.push_back(s);
  }
  for (const auto& u : units) {
    std::string s = fmt::format("{} {}/{}", u.name, u.get("ActiveState"), u.get("SubState"));
    const std::string result = u.get("Result");
    if (!result.empty() && result != "success") s += " result=" + result;
    const std::string restarts = u.get("NRestarts");
    if (!restarts.empty() && restarts != "0") s += " restarts=" + restarts;
    const std::string file = u.get("UnitFileState");
    if (!file.empty() && file != "enabled") s += " (" + file + ")";
    if (u.get("LoadState") != "loaded" && !u.get("LoadState").empty())
      s += " (" + u.get("LoadState") + ")";
    parts.push_back(s);
  }
  if (!failed.empty()) parts.push_back(fmt::format("failed units: {}", fmt::join(failed, ", ")));
  return fmt::format("{}", fmt::join(parts, "; "));
}

nlohmann::json Report::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : listeners) ls.push_back(l.str());
  nlohmann::json ifs = nlohmann::json::array();
  for (const auto& i : ifaces) {
    nlohmann::json j = {{"name", i.name}, {"state", i.operstate}, {"addrs", i.addrs}};
    if (i.carrier != "-") j["carrier"] = i.carrier == "1";
    if (!i.networkd_admin.empty()) j["networkd"] = i.networkd_admin;
    ifs.push_back(std::move(j));
  }
  nlohmann::json us = nlohmann::json::object();
  for (const auto& u : units) us[u.name] = u.props;
  return {{"seq", seq},        {"uptime_s", uptime}, {"listening", ls},
          {"interfaces", ifs}, {"units", us},        {"failed_units", failed}};
}

Report build_report(std::uint64_t seq, std::string_view begin,
                    const std::vector<std::string>& body) {
  Report r;
  r.seq = seq;
  for (auto w : words(begin)) {
    if (w.rfind("port=", 0) == 0) r.port = parse_num<int>(w.substr(5)).value_or(0);
    if (w.rfind("uptime=", 0) == 0)
      r.uptime = std::strtod(std::string(w.substr(7)).c_str(), nullptr);
  }
  std::vector<std::uint32_t> locals;
  struct Route {
    std::string iface;
    std::uint32_t dest, mask;
  };
  std::vector<Route> routes;
  for (const auto& line : body) {
    const auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "listen" && w.size() >= 2) {
      if (auto l = decode_listen(w[1])) {
        bool dup = false;
        for (const auto& o : r.listeners) dup = dup || (o.addr == l->addr && o.port == l->port);
        if (!dup) r.listeners.push_back(*l);
      }
    } else if (w[0] == "if" && w.size() >= 3) {
      if (w[1] == "lo") continue;
      Iface i;
      i.name = std::string(w[1]);
      i.operstate = std::string(w[2]);
      i.carrier = w.size() >= 4 ? std::string(w[3]) : "-";
      if (w.size() >= 5) i.mac = std::string(w[4]);
      r.ifaces.push_back(std::move(i));
    } else if (w[0] == "local" && w.size() >= 2) {
      in_addr a{};
      if (::inet_pton(AF_INET, std::string(w[1]).c_str(), &a) == 1)
        locals.push_back(ntohl(a.s_addr));
    } else if (w[0] == "route" && w.size() >= 4) {
      auto d = decode_hex_ipv4(w[2]);
      auto m = decode_hex_ipv4(w[3]);
      if (d && m) routes.push_back({std::string(w[1]), *d, *m});
    } else if (w[0] == "networkd" && w.size() >= 4) {
      for (auto& i : r.ifaces)
        if (i.name == w[1]) {
          i.networkd_admin = std::string(w[2]);
          i.networkd_oper = std::string(w[3]);
        }
    } else if (w[0] == "unit" && w.size() >= 3) {
      std::string_view sv(line);
      sv.remove_prefix(sv.find("unit") + 5);
      while (!sv.empty() && sv.front() == ' ') sv.remove_prefix(1);
      const auto sp = sv.find(' ');
      if (sp == std::string_view::npos) continue;
      const std::string name(sv.substr(0, sp));
      const std::string_view rest = sv.substr(sp + 1);
      const auto eq = rest.find('=');
      if (eq == std::string_view::npos) continue;
      UnitReport* u = nullptr;
      for (auto& x : r.units)
        if (x.name == name) u = &x;
      if (!u) {
        r.units.push_back({name, {}});
        u = &r.units.back();
      }
      u->props[std::string(rest.substr(0, eq))] = std::string(rest.substr(eq + 1));
    } else if (w[0] == "failed" && w.size() >= 2) {
      const std::string name(w[1]);
      if (std::find(r.failed.begin(), r.failed.end(), name) == r.failed.end())
        r.failed.push_back(name);
    }
  }
  // Each local address belongs to the interface whose prefix route holds it.
  std::vector<std::uint32_t> seen;
  for (auto a : locals) {
    if ((a >> 24) == 127 || std::find(seen.begin(), seen.end(), a) != seen.end()) continue;
    seen.push_back(a);
    const Route* best = nullptr;
    for (const auto& rt : routes)
      if (rt.mask != 0 && (a & rt.mask) == rt.dest && (!best || rt.mask > best->mask)) best = &rt;
    if (!best) continue;
    for (auto& i : r.ifaces)
      if (i.name == best->iface)
        i.addrs.push_back(fmt::format("{}/{}", ipv4_str(a), prefix_len(best->mask)));
  }
  return r;
}

void ReporterParser::drop() {
  if (active_) ++broken_;
  active_ = false;
  bad_ = false;
  lines_.clear();
}

std::optional<Report> ReporterParser::line(std::string_view text) {
  const auto at = text.find(kReportPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + kReportPrefix.size());
  // SEQ:N:LEN:TEXT
  std::string_view f[3];
  for (auto& field : f) {
    const auto c = rest.find(':');
    if (c == std::string_view::npos) {
      drop();
      return std::nullopt;
    }
    field = rest.substr(0, c);
    rest.remove_prefix(c + 1);
  }
  auto seq = parse_num<std::uint64_t>(f[0]);
  auto n = parse_num<std::uint64_t>(f[1]);
  auto len = parse_num<std::size_t>(f[2]);
  if (!seq || !n || !len || *len != rest.size() || *n > 10000) {
    // A cut or corrupted line: the block it belongs to cannot be trusted.
    if (active_ && seq && *seq == seq_) bad_ = true;
    return std::nullopt;
  }
  if (*n == 0) {
    drop();
    if (rest.rfind("begin", 0) != 0) return std::nullopt;
    active_ = true;
    seq_ = *seq;
    next_ = 1;
    lines_.assign(1, std::string(rest));
    return std::nullopt;
  }
  if (!active_ || *seq != seq_) {
    if (active_) drop();
    return std::nullopt;
  }
  if (*n != next_) bad_ = true;
  next_ = *n + 1;
  if (rest.rfind("end ", 0) == 0) {
    auto count = parse_num<std::uint64_t>(rest.substr(4));
    const bool ok = !bad_ && count && *count == *n + 1 && lines_.size() == *n;
    std::vector<std::string> body(lines_.begin() + 1, lines_.end());
    const std::string begin = lines_.front();
    const std::uint64_t s = seq_;
    active_ = false;
    bad_ = false;
    lines_.clear();
    if (!ok) {
      ++broken_;
      return std::nullopt;
    }
    ++complete_;
    return build_report(s, begin, body);
  }
  lines_.emplace_back(rest);
  if (lines_.size() > 2000) bad_ = true;  // a block is a few dozen lines
  return std::nullopt;
}

}  // namespace vmu::diagnose
