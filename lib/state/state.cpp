#include "state/state.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "util/fs.hpp"

namespace vmu {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

fs::path absolute_or_throw(const std::string& p, const char* what) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) throw Error(Exit::usage, fmt::format("{} '{}': {}", what, p, ec.message()));
  return abs.lexically_normal();
}

}  // namespace

State State::resolve(const std::optional<std::string>& state_dir) {
  fs::path state;
  if (state_dir && !state_dir->empty()) {
    state = absolute_or_throw(*state_dir, "--state-dir");
  } else if (auto e = env("VMUTILS_STATE_DIR")) {
    state = absolute_or_throw(*e, "$VMUTILS_STATE_DIR");
  } else if (::geteuid() == 0) {
    state = "/var/lib/vmutils";
  } else if (auto x = env("XDG_STATE_HOME")) {
    state = fs::path(*x) / "vmutils";
  } else if (auto h = env("HOME")) {
    state = fs::path(*h) / ".local/state/vmutils";
  } else {
    throw Error(Exit::usage, "no state folder: pass --state-dir or set VMUTILS_STATE_DIR");
  }

  fs::path run;
  if (auto e = env("VMUTILS_RUN_DIR")) {
    run = absolute_or_throw(*e, "$VMUTILS_RUN_DIR");
  } else if (::geteuid() == 0) {
    run = "/run/vmutils";
  } else if (auto x = env("XDG_RUNTIME_DIR")) {
    run = fs::path(*x) / "vmutils";
  } else {
    run = fmt::format("/tmp/vmutils-{}", ::geteuid());
  }
  return State(state, run);
}

bool State::exists(const std::string& id) const {
  std::error_code ec;
  return valid_vm_id(id) && fs::exists(record_path(id), ec);
}

std::optional<Record> State::load_if_exists(const std::string& id) const {
  check_vm_id(id);
  auto text = read_file_if_exists(record_path(id), kMaxRecordBytes);
  if (!text) return std::nullopt;
  if (text->empty())
    throw Error(Exit::failed, "bad_state",
                fmt::format("the saved record '{}' is empty: the host lost power before it was "
                            "written back (vmnet-alloc does not sync a record that holds only a "
                            "lease); that lease and TAP ended with that boot ('vmnet-alloc gc' "
                            "frees the lease): 'vm-destroy --id {}' removes the folder",
                            record_path(id).string(), id));
  try {
    return Record::parse(*text);
  } catch (const Error& e) {
    throw Error(
        Exit::failed, "bad_state",
        fmt::format("the saved record '{}' is unreadable: {}", record_path(id).string(), e.what()));
  }
}

Record State::load(const std::string& id) const {
  auto r = load_if_exists(id);
  if (!r)
    throw Error(Exit::usage, "unknown_id",
                fmt::format("unknown VM '{}': no record at '{}' (see vm-ls, or check "
                            "--state-dir)",
                            id, record_path(id).string()));
  if (r->id() != id)
    throw Error(Exit::failed, "bad_state",
                fmt::format("'{}' holds the record of '{}', not '{}'", record_path(id).string(),
                            r->id(), id));
  return std::move(*r);
}

void State::make_vm_dir(const std::string& id) const {
  check_vm_id(id);
  make_dirs(vm_dir(id), kStateDirMode);
}

void State::save(const Record& r, Survives survives) const {
  make_vm_dir(r.id());
  write_file_atomic(record_path(r.id()), r.dump() + "\n", 0640, {}, survives);
  if (registry_) registry_->put(r);
}

fs::path State::trusted_record_file(const Record& rec, std::string_view field,
                                    const fs::path& path) const {
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (ec)
    throw Error(
        Exit::usage, ec == std::errc::no_such_file_or_directory ? "not_found" : "bad_record",
        fmt::format("record '{}': {} '{}': {}", rec.id(), field, path.string(), ec.message()));
  std::error_code ec2;
  const fs::path dir = fs::weakly_canonical(vm_dir(rec.id()), ec2);
  const auto [d, r] = std::mismatch(dir.begin(), dir.end(), real.begin(), real.end());
  const bool inside = !ec2 && d == dir.end() && r != real.end();
  if (!inside)
    throw Error(Exit::usage, "untrusted_path",
                fmt::format("record '{}': {} '{}' is not inside this VM's state folder '{}': a "
                            "record may only name its own VM's files (name another image "
                            "explicitly on the command line, e.g. agent-inject --image)",
                            rec.id(), field, path.string(), dir.string()));
  if (!fs::is_regular_file(real, ec))
    throw Error(
        Exit::usage, "untrusted_path",
        fmt::format("record '{}': {} '{}' is not a regular file", rec.id(), field, path.string()));
  return real;
}

std::vector<std::string> State::list_ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(vms_dir(), ec)) {
    auto name = e.path().filename().string();
    if (valid_vm_id(name) && e.is_directory(ec)) ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace vmu
