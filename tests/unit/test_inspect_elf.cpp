#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "inspect/elf.hpp"

using namespace vmu::inspect;

namespace {

std::string file_head(const char* path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

void put(std::string& s, std::size_t off, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    s[off + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// A minimal 32-bit little-endian ELF with one PT_INTERP.
std::string elf32(const std::string& interp) {
  std::string s(52 + 32 + interp.size() + 1, '\0');
  s.replace(0, 4,
            "\x7f"
            "ELF");
  s[4] = 1;                          // ELFCLASS32
  s[5] = 1;                          // little endian
  put(s, 16, 2, 2);                  // ET_EXEC
  put(s, 18, 3, 2);                  // EM_386
  put(s, 28, 52, 4);                 // e_phoff
  put(s, 42, 32, 2);                 // e_phentsize
  put(s, 44, 1, 2);                  // e_phnum
  put(s, 52, 3, 4);                  // PT_INTERP
  put(s, 56, 84, 4);                 // p_offset
  put(s, 68, interp.size() + 1, 4);  // p_filesz
  s.replace(84, interp.size(), interp);
  return s;
}

}  // namespace

TEST_CASE("elf: the loader of this system's /bin/true", "[inspect]") {
  const std::string head = file_head("/bin/true", kHeadBytes);
  REQUIRE(is_elf(head));
  auto info = parse_elf(head);
  REQUIRE(info);
  CHECK(info->need_bytes == 0);
  REQUIRE(info->interpreter);
  CHECK(info->interpreter->front() == '/');
  CHECK(info->interpreter->find("ld") != std::string::npos);
}

TEST_CASE("elf: 32-bit, static, truncated and damaged files", "[inspect]") {
  auto i32 = parse_elf(elf32("/lib/ld-linux.so.2"));
  REQUIRE(i32);
  CHECK(i32->bits == 32);
  CHECK(machine_name(i32->machine) == "i386");
  CHECK(i32->interpreter == "/lib/ld-linux.so.2");

  std::string stat = elf32("/x");
  put(stat, 52, 1, 4);  // PT_LOAD instead of PT_INTERP: static
  auto st = parse_elf(stat);
  REQUIRE(st);
  CHECK_FALSE(st->interpreter);

  // PT_INTERP beyond the bytes given: asks for more.
  std::string far = elf32("/lib/ld-linux.so.2");
  auto part = parse_elf(std::string_view(far).substr(0, 84));
  REQUIRE(part);
  CHECK(part->need_bytes == far.size());

  std::string bad = elf32("/x");
  put(bad, 42, 8, 2);  // program header entries too small
  CHECK_FALSE(parse_elf(bad));
  CHECK_FALSE(
      parse_elf("\x7f"
                "ELF"));
  CHECK_FALSE(parse_elf("#!/bin/sh\n"));
  CHECK_FALSE(is_elf("MZ"));
}

TEST_CASE("elf: #! lines split as the kernel does", "[inspect]") {
  auto a = parse_shebang("#!/bin/sh\necho\n");
  REQUIRE(a);
  CHECK(a->interpreter == "/bin/sh");
  CHECK(a->arg.empty());
  auto b = parse_shebang("#! /usr/bin/env  node --harmony \r\nx");
  REQUIRE(b);
  CHECK(b->interpreter == "/usr/bin/env");
  CHECK(b->arg == "node --harmony");
  CHECK_FALSE(parse_shebang("#!\n"));
  CHECK_FALSE(parse_shebang("echo"));
}
