// fc-launch's refusal of an unsynced clone from an earlier boot
// (vmm/launch.cpp, check_clone_durable).
#include <catch2/catch.hpp>

#include "util/error.hpp"
#include "vmm/launch.hpp"

using namespace vmu;

namespace {
Record with_rootfs(Json rootfs) {
  Json j = {{"v", 1}, {"id", "vm-a"}, {"rootfs", std::move(rootfs)}};
  return Record::from_json(j);
}
}  // namespace

TEST_CASE("launch: an unsynced clone of an earlier boot is refused with the fix") {
  const auto rec =
      with_rootfs({{"path", "/s/vms/vm-a/rootfs.ext4"}, {"boot_id", "old"}, {"synced", false}});
  try {
    vmm::check_clone_durable(rec, "now");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::usage);
    CHECK(e.reason() == "unsynced_clone");
    CHECK(std::string(e.what()).find("rootfs-clone --id vm-a --force") != std::string::npos);
  }
}

TEST_CASE("launch: synced, this boot's, or without the fields: launched") {
  CHECK_NOTHROW(
      vmm::check_clone_durable(with_rootfs({{"boot_id", "old"}, {"synced", true}}), "now"));
  CHECK_NOTHROW(
      vmm::check_clone_durable(with_rootfs({{"boot_id", "now"}, {"synced", false}}), "now"));
  CHECK_NOTHROW(vmm::check_clone_durable(with_rootfs({{"path", "/x"}}), "now"));
  // No boot id here (no /proc): nothing to compare.
  CHECK_NOTHROW(vmm::check_clone_durable(with_rootfs({{"boot_id", "old"}, {"synced", false}}), ""));
}
