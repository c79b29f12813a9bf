#include "inject/request.hpp"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "ext4/image.hpp"
#include "inject/unit.hpp"
#include "record/record.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace vmu::inject {

namespace {

constexpr std::size_t kMaxSpecBytes = 1u << 20;
constexpr std::size_t kMaxEnvFileBytes = 1u << 20;

[[noreturn]] void bad(std::string reason, std::string message) {
  throw Error(Exit::usage, std::move(reason), std::move(message));
}

std::vector<std::string_view> split_colon(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  for (;;) {
    std::size_t j = s.find(':', i);
    if (j == std::string_view::npos) {
      out.push_back(s.substr(i));
      return out;
    }
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
}

void check_env_value(const EnvVar& v, std::string_view from) {
  if (v.value.find('\n') != std::string::npos || v.value.find('\r') != std::string::npos ||
      v.value.find('\0') != std::string::npos)
    bad("bad_env", fmt::format("{}: the value of {} contains a line break or NUL, which an "
                               "environment file cannot hold",
                               from, v.key));
}

}  // namespace

void Request::merge(Request other, bool take_env_target) {
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(mkdirs, other.mkdirs);
  append(copies, other.copies);
  append(symlinks, other.symlinks);
  append(units, other.units);
  append(env, other.env);
  if (take_env_target) env_target = std::move(other.env_target);
  if (other.reporter && !reporter) {
    reporter = std::move(other.reporter);
  } else if (other.reporter) {
    if (other.reporter->port != ReporterSpec{}.port) reporter->port = other.reporter->port;
    append(reporter->units, other.reporter->units);
  }
  persist_journal = persist_journal || other.persist_journal;
}

Getenv process_env() {
  return [](const std::string& key) -> std::optional<std::string> {
    const char* v = std::getenv(key.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

int parse_port(std::string_view text, std::string_view what) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 1 || v > 65535)
    bad("bad_port", fmt::format("{}: '{}' is not a port number (1-65535)", what, text));
  return v;
}

std::string check_unit_name(std::string_view name, std::string_view what) {
  std::string n(name);
  if (n.find('.') == std::string::npos) n += ".service";
  if (!valid_unit_name(n))
    bad("bad_unit",
        fmt::format("{}: '{}' is not a systemd unit name (e.g. agent.service)", what, name));
  return n;
}

std::uint32_t parse_mode(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > 4)
    bad("bad_mode",
        fmt::format("{}: mode '{}' is not 1 to 4 octal digits (e.g. 0755)", what, text));
  std::uint32_t m = 0;
  for (char c : text) {
    if (c < '0' || c > '7')
      bad("bad_mode",
          fmt::format("{}: mode '{}' is not 1 to 4 octal digits (e.g. 0755)", what, text));
    m = m * 8 + static_cast<std::uint32_t>(c - '0');
  }
  return m;
}

std::uint32_t parse_id(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > 10)
    bad("bad_owner", fmt::format("{}: '{}' is not a numeric uid/gid", what, text));
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      bad("bad_owner", fmt::format("{}: '{}' is not a numeric uid/gid", what, text));
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v >= 0xffffffffULL)
    bad("bad_owner", fmt::format("{}: uid/gid '{}' is out of range", what, text));
  return static_cast<std::uint32_t>(v);
}

bool valid_env_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(key.front())) return false;
  for (char c : key)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

std::string check_guest_path(std::string_view path, std::string_view what) {
  std::vector<std::string> parts;
  try {
    parts = ext4::split_guest_path(path);
  } catch (const Error& e) {
    bad(e.reason(), fmt::format("{}: {}", what, e.what()));
  }
  std::string out;
  for (const auto& p : parts) {
    if (p == "..")
      bad("dotdot", fmt::format("{}: guest path '{}' contains '..', which is refused", what, path));
    if (p == ".") continue;
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

CopyOp parse_copy(std::string_view arg) {
  const std::string what = fmt::format("--copy '{}'", arg);
  auto parts = split_colon(arg);
  if (parts.size() != 2 && parts.size() != 3 && parts.size() != 5)
    bad("bad_copy", fmt::format("{}: expected SRC:DEST[:MODE[:UID:GID]]", what));
  if (parts[0].empty()) bad("bad_copy", fmt::format("{}: SRC is empty", what));
  CopyOp op;
  op.src = std::string(parts[0]);
  const bool dir_dest = !parts[1].empty() && parts[1].back() == '/';
  op.dest = check_guest_path(parts[1], what);
  if (dir_dest && op.dest != "/") op.dest += "/";
  if (parts.size() >= 3 && !parts[2].empty()) op.mode = parse_mode(parts[2], what);
  if (parts.size() == 5) {
    op.uid = parse_id(parts[3], what);
    op.gid = parse_id(parts[4], what);
  }
  return op;
}

MkdirOp parse_mkdir(std::string_view arg) {
  const std::string what = fmt::format("--mkdir '{}'", arg);
  auto parts = split_colon(arg);
  if (parts.size() > 2) bad("bad_mkdir", fmt::format("{}: expected DIR[:MODE]", what));
  MkdirOp op;
  op.path = check_guest_path(parts[0], what);
  if (parts.size() == 2) op.mode = parse_mode(parts[1], what);
  return op;
}

SymlinkOp parse_symlink(std::string_view arg) {
  const std::string what = fmt::format("--symlink '{}'", arg);
  const std::size_t colon = arg.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    bad("bad_symlink", fmt::format("{}: expected TARGET:LINK", what));
  SymlinkOp op;
  op.target = std::string(arg.substr(0, colon));
  op.link = check_guest_path(arg.substr(colon + 1), what);
  if (op.link == "/") bad("bad_symlink", fmt::format("{}: LINK cannot be '/'", what));
  if (op.target.find('\0') != std::string::npos || op.target.size() > 4095)
    bad("bad_symlink", fmt::format("{}: TARGET is not a usable symlink target", what));
  return op;
}

EnvVar parse_env(std::string_view arg, const Getenv& getenv) {
  const std::size_t eq = arg.find('=');
  EnvVar v;
  v.key = std::string(arg.substr(0, eq));
  // Without '=' the argument may be a value typed without its KEY=, so it
  // is never repeated in a message.
  if (eq == std::string_view::npos) {
    if (!valid_env_key(v.key))
      bad("bad_env",
          "--env: an argument without '=' is neither KEY=VALUE nor a variable name "
          "([A-Za-z_][A-Za-z0-9_]*); it is not shown in case it is a secret");
    auto value = getenv(v.key);
    if (!value)
      bad("env_unset",
          "--env NAME (without '='): NAME is not set in agent-inject's environment (not shown "
          "in case it is a value typed without KEY=); export it or pass --env KEY=VALUE");
    v.value = std::move(*value);
  } else {
    if (!valid_env_key(v.key))
      bad("bad_env",
          fmt::format("--env: '{}' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)", v.key));
    v.value = std::string(arg.substr(eq + 1));
  }
  check_env_value(v, "--env");
  return v;
}

std::vector<EnvVar> parse_env_file(const std::filesystem::path& file) {
  const std::string what = fmt::format("--env-file '{}'", file.string());
  std::string text;
  try {
    text = read_file(file, kMaxEnvFileBytes);
  } catch (const Error& e) {
    bad("bad_source", fmt::format("{}: {}", what, e.what()));
  }
  std::vector<EnvVar> out;
  std::size_t lineno = 0, i = 0;
  while (i < text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string_view line(text.data() + i, j - i);
    i = j + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line.remove_prefix(7);
    const std::size_t eq = line.find('=');
    std::string key(line.substr(0, eq));
    if (eq == std::string_view::npos || !valid_env_key(key))
      bad("bad_env", fmt::format("{} line {}: expected KEY=VALUE with a valid KEY", what, lineno));
    EnvVar v{std::move(key), std::string(line.substr(eq + 1))};
    check_env_value(v, fmt::format("{} line {}", what, lineno));
    out.push_back(std::move(v));
  }
  return out;
}

Request parse_spec(const nlohmann::json& spec, const std::filesystem::path& base_dir,
                   const Getenv& getenv) {
  using nlohmann::json;
  auto where = [](std::string_view at) { return fmt::format("spec: {}", at); };
  if (!spec.is_object()) bad("bad_spec", "spec: the document is not a JSON object");
  auto host_path = [&](const json& v, const std::string& at) {
    if (!v.is_string() || v.get<std::string>().empty())
      bad("bad_spec", fmt::format("{}: expected a non-empty string (a host path)", where(at)));
    std::filesystem::path p = v.get<std::string>();
    return p.is_absolute() ? p : base_dir / p;
  };
  auto string_at = [&](const json& obj, const char* key, const std::string& at,
                       bool required) -> std::optional<std::string> {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) bad("bad_spec", fmt::format("{}: '{}' is missing", where(at), key));
      return std::nullopt;
    }
    if (!it->is_string()) bad("bad_spec", fmt::format("{}.{}: expected a string", where(at), key));
    return it->get<std::string>();
  };
  auto only_keys = [&](const json& obj, std::initializer_list<std::string_view> keys,
                       const std::string& at) {
    if (!obj.is_object()) bad("bad_spec", fmt::format("{}: expected an object", where(at)));
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
        bad("bad_spec", fmt::format("{}: unknown key '{}'", where(at), it.key()));
  };
  auto array_at = [&](const char* key) -> const json* {
    auto it = spec.find(key);
    if (it == spec.end()) return nullptr;
    if (!it->is_array()) bad("bad_spec", fmt::format("{}: expected an array", where(key)));
    return &*it;
  };
  auto id_at = [&](const json& obj, const char* key,
                   const std::string& at) -> std::optional<std::uint32_t> {
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() >= 0xffffffffULL)
      bad("bad_owner", fmt::format("{}.{}: expected a numeric uid/gid", where(at), key));
    return static_cast<std::uint32_t>(it->get<std::uint64_t>());
  };
  auto mode_at = [&](const json& obj, const std::string& at) -> std::optional<std::uint32_t> {
    auto it = obj.find("mode");
    if (it == obj.end()) return std::nullopt;
    if (!it->is_string())
      bad("bad_mode", fmt::format("{}.mode: expected an octal string such as \"0755\"", where(at)));
    return parse_mode(it->get<std::string>(), where(at));
  };

  only_keys(spec,
            {"version", "mkdir", "copy", "symlink", "unit", "env", "env_file", "env_target",
             "env_mode", "reporter", "persist_journal"},
            "top level");
  if (auto it = spec.find("version"); it != spec.end() && !(it->is_number_integer() && *it == 1))
    bad("bad_spec", "spec: 'version' must be 1");

  Request r;
  if (const json* a = array_at("mkdir")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string at = fmt::format("mkdir[{}]", i);
      only_keys((*a)[i], {"path", "mode"}, at);
      MkdirOp op;
      op.path = check_guest_path(*string_at((*a)[i], "path", at, true), where(at));
      if (auto m = mode_at((*a)[i], at)) op.mode = *m;
      r.mkdirs.push_back(std::move(op));
    }
  }
  if (const json* a = array_at("copy")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string at = fmt::format("copy[{}]", i);
      const json& o = (*a)[i];
      only_keys(o, {"src", "dest", "mode", "uid", "gid"}, at);
      CopyOp op;
      if (!o.contains("src")) bad("bad_spec", fmt::format("{}: 'src' is missing", where(at)));
      op.src = host_path(o["src"], at + ".src");
      const std::string dest = *string_at(o, "dest", at, true);
      op.dest = check_guest_path(dest, where(at));
      if (dest.size() > 1 && dest.back() == '/') op.dest += "/";
      op.mode = mode_at(o, at);
      op.uid = id_at(o, "uid", at);
      op.gid = id_at(o, "gid", at);
      if (op.uid.has_value() != op.gid.has_value())
        bad("bad_owner", fmt::format("{}: give both uid and gid, or neither", where(at)));
      r.copies.push_back(std::move(op));
    }
  }
  if (const json* a = array_at("symlink")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string at = fmt::format("symlink[{}]", i);
      only_keys((*a)[i], {"target", "link"}, at);
      SymlinkOp op;
      op.target = *string_at((*a)[i], "target", at, true);
      op.link = check_guest_path(*string_at((*a)[i], "link", at, true), where(at));
      if (op.target.empty() || op.link == "/")
        bad("bad_symlink", fmt::format("{}: empty target or '/' as link", where(at)));
      r.symlinks.push_back(std::move(op));
    }
  }
  if (const json* a = array_at("unit")) {
    for (std::size_t i = 0; i < a->size(); ++i)
      r.units.push_back(host_path((*a)[i], fmt::format("unit[{}]", i)));
  }
  if (const json* a = array_at("env_file")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto vars = parse_env_file(host_path((*a)[i], fmt::format("env_file[{}]", i)));
      r.env.insert(r.env.end(), vars.begin(), vars.end());
    }
  }
  if (auto it = spec.find("env"); it != spec.end()) {
    if (!it->is_object())
      bad("bad_spec", "spec: env: expected an object {\"KEY\": \"VALUE\" or null}");
    for (auto e = it->begin(); e != it->end(); ++e) {
      if (e->is_null()) {
        r.env.push_back(parse_env(e.key(), getenv));
      } else if (e->is_string()) {
        if (!valid_env_key(e.key()))
          bad("bad_env", fmt::format("spec: env: '{}' is not a valid variable name", e.key()));
        EnvVar v{e.key(), e->get<std::string>()};
        check_env_value(v, "spec: env");
        r.env.push_back(std::move(v));
      } else {
        bad("bad_spec", fmt::format("spec: env.{}: expected a string or null", e.key()));
      }
    }
  }
  if (auto t = string_at(spec, "env_target", "top level", false))
    r.env_target = check_guest_path(*t, "spec: env_target");
  if (auto m = string_at(spec, "env_mode", "top level", false))
    r.env_mode = parse_mode(*m, "spec: env_mode");
  if (auto it = spec.find("reporter"); it != spec.end()) {
    if (it->is_boolean()) {
      if (it->get<bool>()) r.reporter = ReporterSpec{};
    } else {
      only_keys(*it, {"port", "units"}, "reporter");
      ReporterSpec rs;
      if (auto p = it->find("port"); p != it->end()) {
        if (!p->is_number_unsigned() || p->get<std::uint64_t>() < 1 ||
            p->get<std::uint64_t>() > 65535)
          bad("bad_spec", "spec: reporter.port: expected a port number 1-65535");
        rs.port = static_cast<int>(p->get<std::uint64_t>());
      }
      if (auto u = it->find("units"); u != it->end()) {
        if (!u->is_array())
          bad("bad_spec", "spec: reporter.units: expected an array of unit names");
        for (std::size_t i = 0; i < u->size(); ++i) {
          if (!(*u)[i].is_string())
            bad("bad_spec", fmt::format("spec: reporter.units[{}]: expected a string", i));
          rs.units.push_back(check_unit_name((*u)[i].get<std::string>(),
                                             fmt::format("spec: reporter.units[{}]", i)));
        }
      }
      r.reporter = std::move(rs);
    }
  }
  if (auto it = spec.find("persist_journal"); it != spec.end()) {
    if (!it->is_boolean()) bad("bad_spec", "spec: persist_journal: expected true or false");
    r.persist_journal = it->get<bool>();
  }
  return r;
}

Request load_spec(const std::filesystem::path& file, const Getenv& getenv) {
  std::string text;
  try {
    text = read_file(file, kMaxSpecBytes);
  } catch (const Error& e) {
    bad("bad_source", fmt::format("--spec '{}': {}", file.string(), e.what()));
  }
  nlohmann::json j;
  try {
    j = parse_json(text, fmt::format("--spec '{}'", file.string()));
  } catch (const Error& e) {
    bad("bad_spec", e.what());
  }
  try {
    return parse_spec(j, file.parent_path().empty() ? "." : file.parent_path(), getenv);
  } catch (const Error& e) {
    throw Error(e.code(), e.reason(), fmt::format("--spec '{}': {}", file.string(), e.what()));
  }
}

}  // namespace vmu::inject
