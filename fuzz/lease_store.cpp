// The host lease store's files (lib/net): a lease file (lease_from_json,
// round-tripped through lease_to_json) and a pool's pool.json
// (pool_config_from_json). Both are read from a state folder that another
// version or a damaged disk may have written.
#include "net/lease_store.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vmu::fuzz::bytes(data, size);
  try {
    const vmu::Lease l = vmu::lease_from_json(text, "fuzz");
    (void)vmu::lease_from_json(vmu::lease_to_json(l), "fuzz round trip");
  } catch (const vmu::Error&) {
  }
  try {
    const auto pool = vmu::Cidr::parse("192.168.100.0/24");
    (void)vmu::pool_config_from_json(text, pool, "fuzz");
  } catch (const vmu::Error&) {
  }
  return 0;
}
