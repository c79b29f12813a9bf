#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "clone/identity.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace {

namespace fs = std::filesystem;

using vmu::test::TempDir;

vmu::FileKey key_of(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return vmu::file_key(st);
}

}  // namespace

TEST_CASE("clone: sha256 matches the standard test vectors") {
  CHECK(vmu::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(vmu::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("clone: sha256_file hashes holes as zeros") {
  TempDir d;
  const fs::path p = d.path / "sparse";
  vmu::Fd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(fd);
  // data, a 5 MiB hole, data, a trailing hole.
  REQUIRE(::pwrite(fd.get(), "head", 4, 0) == 4);
  REQUIRE(::pwrite(fd.get(), "tail", 4, 5 << 20) == 4);
  const std::uint64_t size = (9 << 20) + 3;
  REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
  std::string all(size, '\0');
  all.replace(0, 4, "head");
  all.replace(5 << 20, 4, "tail");
  CHECK(vmu::sha256_file(fd.get(), size, p, {}) == vmu::sha256_hex(all));
}

TEST_CASE("clone: the digest is cached beside the golden and reused while the key matches") {
  TempDir d;
  const fs::path g = d.path / "golden.img";
  vmu::write_file_atomic(g, std::string(100000, 'g'));
  vmu::Fd fd(::open(g.c_str(), O_RDONLY | O_CLOEXEC));
  const vmu::FileKey key = key_of(fd.get());

  auto first = vmu::golden_digest(fd.get(), g, key, d.path / "state-cache", {});
  CHECK_FALSE(first.cached);
  CHECK(first.cache_path == vmu::cache_beside(g));
  CHECK(first.sha256 == vmu::sha256_hex(std::string(100000, 'g')));

  auto second = vmu::golden_digest(fd.get(), g, key, d.path / "state-cache", {});
  CHECK(second.cached);
  CHECK(second.sha256 == first.sha256);

  // Another key (the golden changed): not trusted, hashed again.
  const struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, g.c_str(), times, 0) == 0);
  const vmu::FileKey other = key_of(fd.get());
  REQUIRE(other != key);
  auto third = vmu::golden_digest(fd.get(), g, other, d.path / "state-cache", {});
  CHECK_FALSE(third.cached);
}

TEST_CASE("clone: a damaged sidecar is a cache miss") {
  TempDir d;
  const fs::path g = d.path / "golden.img";
  vmu::write_file_atomic(g, "data");
  vmu::Fd fd(::open(g.c_str(), O_RDONLY | O_CLOEXEC));
  const vmu::FileKey key = key_of(fd.get());
  for (const char* junk : {"", "{", "[]", R"({"v":1,"sha256":"zz"})", R"({"v":2})"}) {
    vmu::write_file_atomic(vmu::cache_beside(g), junk);
    auto dg = vmu::golden_digest(fd.get(), g, key, d.path / "c", {});
    CHECK_FALSE(dg.cached);
    CHECK(dg.sha256 == vmu::sha256_hex("data"));
  }
}

TEST_CASE("clone: the state cache names goldens of the same name apart") {
  CHECK(vmu::cache_in("/c", "/a/golden.ext4") != vmu::cache_in("/c", "/b/golden.ext4"));
  CHECK(vmu::cache_beside("/a/golden.ext4") == "/a/golden.ext4.vmutils-id.json");
}

TEST_CASE("clone: hashing stops when asked") {
  TempDir d;
  const fs::path g = d.path / "golden.img";
  vmu::write_file_atomic(g, std::string(1 << 20, 'x'));
  vmu::Fd fd(::open(g.c_str(), O_RDONLY | O_CLOEXEC));
  try {
    vmu::sha256_file(fd.get(), 1 << 20, g, [] { return true; });
    FAIL("not interrupted");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::interrupted);
  }
}
