// /etc/passwd and /etc/group of an image.
#include "fuzz.hpp"
#include "inspect/systemd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vmu::fuzz::bytes(data, size);
  try {
    (void)vmu::inspect::parse_passwd(text);
    (void)vmu::inspect::parse_group(text);
  } catch (const vmu::Error&) {
  }
  return 0;
}
