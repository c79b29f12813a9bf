// The state folder: where it is (resolution order) and how records are kept.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>

#include "helpers.hpp"
#include "state/state.hpp"
#include "util/fs.hpp"

using namespace vmu;

namespace {

// Sets (or, with nullopt, unsets) an environment variable for a scope.
class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~EnvVar() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("state folder: --state-dir, then $VMUTILS_STATE_DIR, then the default") {
  EnvVar e("VMUTILS_STATE_DIR", "/srv/from-env");
  EnvVar x("XDG_STATE_HOME", "/home/u/.xdg-state");
  EnvVar h("HOME", "/home/u");
  EnvVar r("VMUTILS_RUN_DIR", std::nullopt);
  CHECK(State::resolve(std::string("/srv/flag")).root() == "/srv/flag");
  CHECK(State::resolve(std::string("rel/../dir")).root() ==
        (std::filesystem::current_path() / "dir"));
  CHECK(State::resolve(std::nullopt).root() == "/srv/from-env");
  CHECK(State::resolve(std::string()).root() == "/srv/from-env");  // empty flag: not given
  {
    EnvVar unset("VMUTILS_STATE_DIR", std::string());  // empty: not set
    const auto root = State::resolve(std::nullopt).root();
    if (::geteuid() == 0)
      CHECK(root == "/var/lib/vmutils");
    else
      CHECK(root == "/home/u/.xdg-state/vmutils");
  }
}

TEST_CASE("run folder: $VMUTILS_RUN_DIR, then the default") {
  EnvVar r("VMUTILS_RUN_DIR", "/srv/run");
  CHECK(State::resolve(std::string("/s")).run_root() == "/srv/run");
  EnvVar unset("VMUTILS_RUN_DIR", std::nullopt);
  EnvVar x("XDG_RUNTIME_DIR", "/run/user/1000");
  const auto run = State::resolve(std::string("/s")).run_root();
  if (::geteuid() == 0)
    CHECK(run == "/run/vmutils");
  else
    CHECK(run == "/run/user/1000/vmutils");
}

TEST_CASE("records are saved whole and loaded back; a mismatched id is refused") {
  test::TempDir d;
  State st(d.path / "s", d.path / "r");
  CHECK_FALSE(st.load_if_exists("vm-1"));
  Record rec = Record::create("vm-1");
  rec.put("net", Json{{"ip", "10.0.0.2"}});
  st.save(rec);
  CHECK(st.exists("vm-1"));
  CHECK(st.load("vm-1").get("net")["ip"] == "10.0.0.2");
  CHECK(st.list_ids() == std::vector<std::string>{"vm-1"});
  // Another VM's record under this id: state is broken, not bad input.
  std::filesystem::create_directories(st.vm_dir("vm-2"));
  std::filesystem::copy_file(st.record_path("vm-1"), st.record_path("vm-2"));
  try {
    st.load("vm-2");
    FAIL("a record under another id was loaded");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::failed);
    CHECK(e.reason() == "bad_state");
  }
  try {
    st.load("vm-3");
    FAIL("an unknown id was loaded");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
    CHECK(e.reason() == "unknown_id");
  }
  CHECK_THROWS_AS(st.load("../etc"), Error);
}

TEST_CASE("a path a record names is trusted only inside its own VM's folder") {
  test::TempDir d;
  State st(d.path / "s", d.path / "r");
  std::filesystem::create_directories(st.vm_dir("vm-1"));
  std::filesystem::create_directories(st.vm_dir("vm-2"));
  write_file_atomic(st.rootfs_path("vm-1"), "mine");
  write_file_atomic(st.rootfs_path("vm-2"), "theirs");
  write_file_atomic(d.path / "golden.ext4", "golden");
  std::filesystem::create_symlink(d.path / "golden.ext4", st.vm_dir("vm-1") / "link.ext4");
  const Record rec = Record::create("vm-1");
  auto reason = [&](const std::filesystem::path& p) -> std::string {
    try {
      st.trusted_record_file(rec, "rootfs.path", p);
      return "trusted";
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(std::string(e.what()).find("record 'vm-1': rootfs.path") == 0);
      return e.reason();
    }
  };
  CHECK(reason(st.rootfs_path("vm-1")) == "trusted");
  CHECK(st.trusted_record_file(rec, "rootfs.path", st.vm_dir("vm-1") / "." / "rootfs.ext4") ==
        std::filesystem::canonical(st.rootfs_path("vm-1")));
  CHECK(reason(st.rootfs_path("vm-2")) == "untrusted_path");           // another VM's disk
  CHECK(reason(d.path / "golden.ext4") == "untrusted_path");           // a golden
  CHECK(reason(st.vm_dir("vm-1") / "link.ext4") == "untrusted_path");  // a symlink out
  CHECK(reason(st.vm_dir("vm-1") / ".." / "vm-2" / "rootfs.ext4") == "untrusted_path");
  CHECK(reason("/etc/shadow") == "untrusted_path");
  CHECK(reason("../../etc/shadow") != "trusted");
  CHECK(reason(st.vm_dir("vm-1")) == "untrusted_path");  // the folder itself
  CHECK(reason(st.vm_dir("vm-1") / "gone.ext4") == "not_found");
}

TEST_CASE("a record saved for a killed process only is whole; one a power cut emptied says so") {
  test::TempDir d;
  State st(d.path / "s", d.path / "r");
  Record rec = Record::create("vm-1");
  rec.put("net", Json{{"ip", "10.0.0.2"}});
  st.save(rec, Survives::killed_process);
  CHECK(st.load("vm-1").get("net")["ip"] == "10.0.0.2");
  // What a power cut can leave of an unsynced record: an empty file.
  write_file_atomic(st.record_path("vm-1"), "", 0640);
  try {
    st.load("vm-1");
    FAIL("an empty record was loaded");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::failed);
    CHECK(e.reason() == "bad_state");
    CHECK_THAT(e.what(), Catch::Contains("is empty") && Catch::Contains("vm-destroy --id vm-1"));
  }
}
