#include <catch2/catch.hpp>

#include <string>

#include "clone/golden.hpp"
#include "util/error.hpp"

namespace {

void put16(std::string& s, std::size_t off, unsigned v) {
  s[off] = static_cast<char>(v & 0xff);
  s[off + 1] = static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::size_t off, unsigned v) {
  put16(s, off, v & 0xffff);
  put16(s, off + 2, v >> 16);
}

// A minimal superblock: 4 KiB blocks, `blocks` blocks, clean.
std::string superblock(unsigned blocks) {
  std::string s(1024, '\0');
  put32(s, 4, blocks);
  put32(s, 24, 2);  // 1024 << 2
  put16(s, 56, 0xEF53);
  put16(s, 58, 1);  // EXT2_VALID_FS
  for (int i = 0; i < 16; ++i) s[104 + i] = static_cast<char>(i * 17);
  return s;
}

vmu::Exit code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vmu::Error& e) {
    return e.code();
  }
  return vmu::Exit::ok;
}

}  // namespace

TEST_CASE("clone: superblock fields are parsed") {
  auto sb = vmu::parse_superblock(superblock(8192), "g");
  CHECK(sb.block_size == 4096);
  CHECK(sb.blocks == 8192);
  CHECK(sb.fs_bytes() == 32ull << 20);
  CHECK(sb.uuid_string() == "00112233-4455-6677-8899-aabbccddeeff");
  CHECK_FALSE(sb.needs_recovery());
}

TEST_CASE("clone: 64bit block counts use the high half") {
  std::string s = superblock(1);
  put32(s, 96, 0x80);  // INCOMPAT_64BIT
  put32(s, 0x150, 2);
  CHECK(vmu::parse_superblock(s, "g").blocks == (2ull << 32) + 1);
}

TEST_CASE("clone: a file without the ext magic is refused as bad input") {
  CHECK(code_of([] { vmu::parse_superblock(std::string(1024, '\0'), "z"); }) == vmu::Exit::usage);
  CHECK(code_of([] { vmu::parse_superblock("short", "z"); }) == vmu::Exit::usage);
}

TEST_CASE("clone: needs_recovery, errors, unclean and truncated goldens are refused") {
  auto sb = vmu::parse_superblock(superblock(8192), "g");
  CHECK(code_of([&] { vmu::check_golden_superblock(sb, 32ull << 20, "g"); }) == vmu::Exit::ok);
  CHECK(code_of([&] { vmu::check_golden_superblock(sb, 16ull << 20, "g"); }) == vmu::Exit::usage);
  auto rec = sb;
  rec.feature_incompat |= 0x4;
  CHECK(rec.needs_recovery());
  CHECK(code_of([&] { vmu::check_golden_superblock(rec, 32ull << 20, "g"); }) == vmu::Exit::usage);
  auto err = sb;
  err.state = 3;
  CHECK(code_of([&] { vmu::check_golden_superblock(err, 32ull << 20, "g"); }) == vmu::Exit::usage);
  auto unclean = sb;
  unclean.state = 0;
  CHECK(code_of([&] { vmu::check_golden_superblock(unclean, 32ull << 20, "g"); }) ==
        vmu::Exit::usage);
}
