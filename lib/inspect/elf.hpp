// What the kernel looks at before it runs a file: an ELF header and its
// program interpreter (PT_INTERP, the dynamic loader), or a #! line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmu::inspect {

// Bytes to read from the start of a file to classify it; enough for the
// ELF header, the program headers and a PT_INTERP path in every binary
// the usual linkers make (the header says when more is needed).
inline constexpr std::size_t kHeadBytes = 4096;

struct ElfInfo {
  int bits = 0;  // 32 or 64
  bool little_endian = true;
  std::uint16_t machine = 0;               // e_machine (62: x86-64, 183: aarch64)
  std::uint16_t type = 0;                  // e_type (2: EXEC, 3: DYN)
  std::optional<std::string> interpreter;  // PT_INTERP; none: static
  // PT_INTERP lies past the bytes given: read this many from the start and
  // parse again.
  std::size_t need_bytes = 0;
};

// true when `head` starts with the ELF magic.
bool is_elf(std::string_view head);
// Parses the ELF header and program headers in `head` (the file's first
// bytes). std::nullopt when it is not a well-formed ELF file.
std::optional<ElfInfo> parse_elf(std::string_view head);

// A "#!" line: the interpreter and its one optional argument (as the kernel
// splits it: everything after the first blank is one argument).
struct Shebang {
  std::string interpreter;
  std::string arg;
};
// std::nullopt when `head` does not start with "#!" or names no interpreter.
std::optional<Shebang> parse_shebang(std::string_view head);

// The name of an ELF machine for messages ("x86-64", "aarch64", "machine 40").
std::string machine_name(std::uint16_t machine);

}  // namespace vmu::inspect
