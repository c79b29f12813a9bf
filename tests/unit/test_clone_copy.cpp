#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "clone/copy.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace {

namespace fs = std::filesystem;

using vmu::test::TempDir;

}  // namespace

TEST_CASE("clone: method names") {
  CHECK(vmu::parse_method("auto") == vmu::CloneMethod::automatic);
  CHECK(vmu::parse_method("reflink") == vmu::CloneMethod::reflink);
  CHECK(vmu::parse_method("copy") == vmu::CloneMethod::copy);
  CHECK(vmu::method_name(vmu::CloneMethod::reflink) == "reflink");
  CHECK_THROWS_AS(vmu::parse_method("cp"), vmu::Error);
}

TEST_CASE("clone: only 'cannot reflink here' errors allow a copy") {
  for (int e : {EOPNOTSUPP, EXDEV, EINVAL, ENOTTY, ENOSYS}) CHECK(vmu::reflink_unsupported(e));
  for (int e : {ENOSPC, EIO, EPERM, EBADF, ETXTBSY}) CHECK_FALSE(vmu::reflink_unsupported(e));
}

TEST_CASE("clone: sparse_copy copies the data and keeps the holes") {
  TempDir d;
  const fs::path src = d.path / "src", dst = d.path / "dst";
  vmu::Fd s(::open(src.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  const std::string block(1 << 20, 'D');
  REQUIRE(::pwrite(s.get(), block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()));
  REQUIRE(::pwrite(s.get(), block.data(), block.size(), 40 << 20) ==
          static_cast<ssize_t>(block.size()));
  const std::uint64_t size = 64 << 20;
  REQUIRE(::ftruncate(s.get(), static_cast<off_t>(size)) == 0);
  REQUIRE(::fsync(s.get()) == 0);

  vmu::Fd t(::open(dst.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  auto stats = vmu::sparse_copy(s.get(), t.get(), size, src, dst, {});
  CHECK(stats.bytes >= 2u << 20);
  CHECK(stats.bytes < 8u << 20);  // the holes were not copied
  struct stat st {};
  REQUIRE(::fstat(t.get(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == size);
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < 8u << 20);
  CHECK(vmu::read_file(dst, 128u << 20) == vmu::read_file(src, 128u << 20));
}

TEST_CASE("clone: sparse_copy stops when asked") {
  TempDir d;
  const fs::path src = d.path / "src", dst = d.path / "dst";
  vmu::write_file_atomic(src, std::string(1 << 20, 'x'));
  vmu::Fd s(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  vmu::Fd t(::open(dst.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  try {
    vmu::sparse_copy(s.get(), t.get(), 1 << 20, src, dst, [] { return true; });
    FAIL("not interrupted");
  } catch (const vmu::Error& e) {
    CHECK(e.code() == vmu::Exit::interrupted);
  }
}
