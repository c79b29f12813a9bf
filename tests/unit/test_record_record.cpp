#include <catch2/catch.hpp>
#include "record/record.hpp"
TEST_CASE("placeholder") { REQUIRE(vmu::valid_vm_id("vm-1")); }
