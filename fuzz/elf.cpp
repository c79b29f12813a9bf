// The head of an executable in an image: ELF header and program headers
// (interpreter), or a #! line.
#include "inspect/elf.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view head = vmu::fuzz::bytes(data, size);
  try {
    if (vmu::inspect::is_elf(head)) {
      if (auto e = vmu::inspect::parse_elf(head)) (void)vmu::inspect::machine_name(e->machine);
    }
    (void)vmu::inspect::parse_shebang(head);
  } catch (const vmu::Error&) {
  }
  return 0;
}
