// Environment files: inspect's key scan (EnvironmentFile=, /etc/environment)
// and agent-inject's --env-file reader (a file) with merge_env over it.
#include "fuzz.hpp"
#include "inject/env.hpp"
#include "inject/request.hpp"
#include "inspect/systemd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vmu::fuzz::bytes(data, size);
  (void)vmu::inspect::parse_env_file(text);
  vmu::fuzz::MemFile f(text);
  try {
    auto vars = vmu::inject::parse_env_file(f.path());
    const std::string merged = vmu::inject::merge_env(text, vars);
    if (merged.find('\0') != std::string::npos && text.find('\0') == std::string::npos)
      __builtin_trap();  // a NUL never comes from the values
  } catch (const vmu::Error&) {
  }
  return 0;
}
