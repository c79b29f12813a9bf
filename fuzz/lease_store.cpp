// A lease store file: parse_json, then pool_from_json (lib/net).
#include "net/lease_store.hpp"
#include "fuzz.hpp"
#include "record/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const vmu::Json j = vmu::parse_json(vmu::fuzz::bytes(data, size), "store");
    const vmu::PoolState p = vmu::pool_from_json(j, "fuzz");
    (void)vmu::pool_from_json(vmu::to_json(p), "fuzz round trip");
  } catch (const vmu::Error&) {
  }
  return 0;
}
