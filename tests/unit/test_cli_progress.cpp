// Progress for operators (lib/cli/progress.cpp): the text of a live line.
#include <catch2/catch.hpp>

#include "cli/progress.hpp"

using namespace vmu::cli;
using std::chrono::duration;

TEST_CASE("progress: bytes in binary units") {
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(312u << 20) == "312.0 MiB");
  CHECK(human_bytes(1ull << 30) == "1.0 GiB");
}

TEST_CASE("progress: done, total, rate and ETA once known") {
  CHECK(progress_text(0, 1ull << 30, duration<double>(0)) == "0 B of 1.0 GiB");
  // Too early for a rate.
  CHECK(progress_text(10u << 20, 1ull << 30, duration<double>(0.1)) == "10.0 MiB of 1.0 GiB");
  CHECK(progress_text(256u << 20, 1ull << 30, duration<double>(1.0)) ==
        "256.0 MiB of 1.0 GiB, 256 MiB/s, ETA 3 s");
  CHECK(progress_text(1u << 20, 1ull << 30, duration<double>(1.0)) ==
        "1.0 MiB of 1.0 GiB, 1 MiB/s, ETA 17 min 3 s");
}
