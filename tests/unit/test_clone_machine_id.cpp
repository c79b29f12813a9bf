#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "clone/grow.hpp"
#include "clone/machine_id.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace {

namespace fs = std::filesystem;

using vmu::test::TempDir;

// An image made by mke2fs -d from `root`; false when mke2fs is missing.
bool make_image(const fs::path& img, const fs::path& root, std::vector<std::string> opts) {
  std::vector<std::string> argv = {"mke2fs", "-q", "-F"};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.insert(argv.end(), {"-d", root.string(), img.string(), "16M"});
  try {
    return vmu::run_command(argv, {}).status == 0;
  } catch (const vmu::Error&) {
    return false;
  }
}

// e2fsprogs live in /usr/sbin, which a user's PATH may lack.
bool have_mke2fs() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  if (p.find("/usr/sbin") == std::string::npos)
    ::setenv("PATH", (p + ":/usr/sbin:/sbin").c_str(), 1);
  return ::access("/usr/sbin/mke2fs", X_OK) == 0 || ::access("/sbin/mke2fs", X_OK) == 0;
}

int fsck(const fs::path& img) {
  return vmu::run_command({"e2fsck", "-fn", img.string()}, {}).status;
}

}  // namespace

TEST_CASE("clone: machine-id is derived from the VM id") {
  const std::string a = vmu::derive_machine_id("vm-3f9c2a1b");
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a == vmu::derive_machine_id("vm-3f9c2a1b"));
  CHECK(a != vmu::derive_machine_id("vm-3f9c2a1c"));
}

TEST_CASE("clone: machine-id written into images of every common layout") {
  // Real images need mke2fs (scripts/install-deps installs e2fsprogs): a
  // run that cannot make one fails rather than passing unchecked.
  REQUIRE(have_mke2fs());
  struct Layout {
    const char* name;
    std::vector<std::string> opts;
    bool has_file;
  };
  const Layout layouts[] = {
      {"ext4 default, existing file", {"-t", "ext4"}, true},
      {"ext4 default, missing file", {"-t", "ext4"}, false},
      {"ext4 inline_data, existing file", {"-t", "ext4", "-O", "inline_data"}, true},
      {"ext4 inline_data, missing file", {"-t", "ext4", "-O", "inline_data"}, false},
      {"ext4 1k blocks", {"-t", "ext4", "-b", "1024"}, true},
      {"ext2", {"-t", "ext2"}, false},
  };
  // sync true: libext2fs's unix_io (fsyncs); false: plain_io (never fsyncs).
  const bool sync = GENERATE(true, false);
  INFO("sync " << sync);
  for (const auto& l : layouts) {
    SECTION(l.name) {
      TempDir d;
      fs::create_directories(d.path / "root/etc");
      vmu::write_file_atomic(d.path / "root/etc/hostname", "h\n");
      if (l.has_file)
        vmu::write_file_atomic(d.path / "root/etc/machine-id", "uninitialized\n", 0444);
      const fs::path img = d.path / "img";
      REQUIRE(make_image(img, d.path / "root", l.opts));
      const std::string id = vmu::derive_machine_id("vm-ut");
      vmu::write_machine_id(img, id, {}, sync);
      CHECK(vmu::read_machine_id(img) == id + "\n");
      CHECK(fsck(img) == 0);
      // Idempotent: a second write gives the same file, still clean.
      vmu::write_machine_id(img, id, {}, sync);
      CHECK(vmu::read_machine_id(img) == id + "\n");
      CHECK(fsck(img) == 0);
    }
  }
}

TEST_CASE("clone: an image without /etc cannot take a machine-id") {
  // Real images need mke2fs (scripts/install-deps installs e2fsprogs): a
  // run that cannot make one fails rather than passing unchecked.
  REQUIRE(have_mke2fs());
  TempDir d;
  fs::create_directories(d.path / "root/data");
  const fs::path img = d.path / "img";
  REQUIRE(make_image(img, d.path / "root", {"-t", "ext4"}));
  try {
    vmu::check_machine_id_target(img);
    FAIL("accepted");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::usage);
    CHECK(e.reason() == "no_etc");
  }
}

TEST_CASE("clone: machine-id without sync: missing file created; a read-only image fails") {
  // Real images need mke2fs (scripts/install-deps installs e2fsprogs): a
  // run that cannot make one fails rather than passing unchecked.
  REQUIRE(have_mke2fs());
  // A missing file is created; a read-only image fails at open (not user root).
  TempDir d;
  fs::create_directories(d.path / "root/etc");
  const fs::path img = d.path / "img";
  REQUIRE(make_image(img, d.path / "root", {"-t", "ext4"}));
  vmu::write_machine_id(img, "0123456789abcdef0123456789abcdef", {}, false);
  CHECK(vmu::read_machine_id(img) == "0123456789abcdef0123456789abcdef\n");
  CHECK(fsck(img) == 0);
  if (::geteuid() != 0) {
    fs::permissions(img, fs::perms::owner_read);
    try {
      vmu::write_machine_id(img, "x", {}, false);
      FAIL("wrote to a read-only file");
    } catch (const vmu::Error& e) {
      CHECK(e.code() == vmu::Exit::failed);
    }
  }
}
