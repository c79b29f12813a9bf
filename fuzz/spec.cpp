// agent-inject --spec: parse_json and parse_spec (host paths are only
// joined, never opened, by the parser).
#include "fuzz.hpp"
#include "inject/request.hpp"
#include "record/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const vmu::Json j = vmu::parse_json(vmu::fuzz::bytes(data, size), "--spec");
    const auto getenv = [](const std::string& k) -> std::optional<std::string> {
      if (k == "SET") return std::string("value");
      return std::nullopt;
    };
    (void)vmu::inject::parse_spec(j, "/nonexistent-base", getenv);
  } catch (const vmu::Error&) {
  }
  return 0;
}
