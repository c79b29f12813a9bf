#include "inspect/elf.hpp"

#include <fmt/format.h>

namespace vmu::inspect {

namespace {

constexpr std::uint32_t kPtInterp = 3;
// A PT_INTERP or program header table further in than this is not one a
// loader would use: treat the file as malformed rather than read on.
constexpr std::uint64_t kMaxHeaderBytes = 1u << 20;

struct Bytes {
  std::string_view b;
  bool le;
  bool has(std::uint64_t off, std::uint64_t n) const {
    return off + n <= b.size() && off + n >= off;
  }
  std::uint64_t get(std::uint64_t off, int n) const {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      const auto byte = static_cast<std::uint8_t>(b[off + static_cast<std::uint64_t>(i)]);
      if (le)
        v |= static_cast<std::uint64_t>(byte) << (8 * i);
      else
        v = (v << 8) | byte;
    }
    return v;
  }
};

}  // namespace

bool is_elf(std::string_view head) {
  return head.size() >= 4 && head.substr(0, 4) == std::string_view(
                                                      "\x7f"
                                                      "ELF",
                                                      4);
}

std::optional<ElfInfo> parse_elf(std::string_view head) {
  if (!is_elf(head) || head.size() < 52) return std::nullopt;
  ElfInfo info;
  const auto cls = static_cast<std::uint8_t>(head[4]);
  const auto data = static_cast<std::uint8_t>(head[5]);
  if ((cls != 1 && cls != 2) || (data != 1 && data != 2)) return std::nullopt;
  info.bits = cls == 2 ? 64 : 32;
  info.little_endian = data == 1;
  const Bytes b{head, info.little_endian};
  const bool is64 = info.bits == 64;
  if (is64 && head.size() < 64) return std::nullopt;
  info.type = static_cast<std::uint16_t>(b.get(16, 2));
  info.machine = static_cast<std::uint16_t>(b.get(18, 2));
  const std::uint64_t phoff = is64 ? b.get(32, 8) : b.get(28, 4);
  const std::uint64_t phentsize = b.get(is64 ? 54 : 42, 2);
  const std::uint64_t phnum = b.get(is64 ? 56 : 44, 2);
  if (phnum == 0) return info;  // nothing to load: no interpreter either
  if (phentsize < (is64 ? 56u : 32u)) return std::nullopt;
  const std::uint64_t table_end = phoff + phentsize * phnum;
  if (table_end > kMaxHeaderBytes) return std::nullopt;
  if (!b.has(phoff, phentsize * phnum)) {
    info.need_bytes = static_cast<std::size_t>(table_end);
    return info;
  }
  for (std::uint64_t i = 0; i < phnum; ++i) {
    const std::uint64_t ph = phoff + i * phentsize;
    if (b.get(ph, 4) != kPtInterp) continue;
    const std::uint64_t off = is64 ? b.get(ph + 8, 8) : b.get(ph + 4, 4);
    const std::uint64_t size = is64 ? b.get(ph + 32, 8) : b.get(ph + 16, 4);
    if (size == 0 || size > 4096 || off + size > kMaxHeaderBytes) return std::nullopt;
    if (!b.has(off, size)) {
      info.need_bytes = static_cast<std::size_t>(off + size);
      return info;
    }
    std::string path(head.substr(off, size));
    while (!path.empty() && path.back() == '\0') path.pop_back();
    if (path.empty() || path.find('\0') != std::string::npos) return std::nullopt;
    info.interpreter = std::move(path);
    return info;
  }
  return info;
}

std::optional<Shebang> parse_shebang(std::string_view head) {
  if (head.size() < 2 || head.substr(0, 2) != "#!") return std::nullopt;
  std::string_view line = head.substr(2, 254);  // the kernel reads 256 bytes
  line = line.substr(0, line.find('\n'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t i = 0;
  while (i < line.size() && blank(line[i])) ++i;
  std::size_t j = i;
  while (j < line.size() && !blank(line[j]) && line[j] != '\r') ++j;
  if (j == i) return std::nullopt;
  Shebang s{std::string(line.substr(i, j - i)), {}};
  std::string_view rest = line.substr(j);
  while (!rest.empty() && blank(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && (blank(rest.back()) || rest.back() == '\r')) rest.remove_suffix(1);
  s.arg = std::string(rest);
  return s;
}

std::string machine_name(std::uint16_t machine) {
  switch (machine) {
    case 3:
      return "i386";
    case 40:
      return "arm";
    case 62:
      return "x86-64";
    case 183:
      return "aarch64";
    case 243:
      return "riscv";
    default:
      return fmt::format("machine {}", machine);
  }
}

}  // namespace vmu::inspect
