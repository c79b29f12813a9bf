#include <stdlib.h>

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "net/etcd_store.hpp"
#include "util/error.hpp"

using namespace vmu;

TEST_CASE("a host is named by $VMUTILS_HOST_ID, else /etc/machine-id") {
  const char* saved = std::getenv("VMUTILS_HOST_ID");
  const std::string keep = saved ? saved : "";
  ::setenv("VMUTILS_HOST_ID", "rack7-node.3_a", 1);
  CHECK(local_host_id() == "rack7-node.3_a");
  for (const char* bad : {"a b", "a/b", "x\n", std::string(65, 'a').c_str()}) {
    ::setenv("VMUTILS_HOST_ID", bad, 1);
    CHECK_THROWS_AS(local_host_id(), Error);
  }
  ::unsetenv("VMUTILS_HOST_ID");
  if (std::filesystem::exists("/etc/machine-id")) CHECK(local_host_id().size() >= 8);
  if (saved) ::setenv("VMUTILS_HOST_ID", keep.c_str(), 1);
}

TEST_CASE("the store is 'host' or an etcd URL and nothing else") {
  test::TempDir d;
  State st{d.path / "state", d.path / "run"};
  CHECK(open_lease_store("", st).etcd == nullptr);
  CHECK(open_lease_store("host", st).host.empty());
  for (const char* bad : {"file", "etcd:/h:1/p", "etcd://h:1"}) {
    try {
      open_lease_store(bad, st);
      FAIL("accepted " << bad);
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
    }
  }
}
