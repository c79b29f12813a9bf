#include <catch2/catch.hpp>
#include <fstream>

#include "evidence/retention.hpp"
#include "helpers.hpp"
#include "util/error.hpp"

using namespace vmu::evidence;

TEST_CASE("archive names: made and parsed back") {
  const auto t = std::chrono::system_clock::from_time_t(1795915617);  // 2026-11-29T01:26:57Z
  CHECK(archive_name("vm-3f9c2a1b", t) == "vm-3f9c2a1b-20261129T012657Z.tar.gz");
  CHECK(archive_name("vm-3f9c2a1b", t, 2) == "vm-3f9c2a1b-20261129T012657Z-2.tar.gz");
  auto a = parse_archive_name("vm-3f9c2a1b-20261129T012657Z-2.tar.gz");
  REQUIRE(a);
  CHECK(a->id == "vm-3f9c2a1b");
  CHECK(a->stamp == "20261129T012657Z");
  CHECK(a->n == 2);
  auto b = parse_archive_name("a-1-20261129T012657Z.tar.gz");
  REQUIRE(b);
  CHECK(b->id == "a-1");
  CHECK(b->n == 0);
  for (const char* bad : {"notes.txt", "vm-1-20261129T012657Z.tar", "-20261129T012657Z.tar.gz",
                          "vm-1-2026112T012657Z.tar.gz", "VM-1-20261129T012657Z.tar.gz",
                          "vm-1-20261129T012657Z-0.tar.gz", ".vmu-archive-abc",
                          "vm-1-20261128X012657Z.tar.gz", "vm-1_20261129T012657Z.tar.gz"})
    CHECK_FALSE(parse_archive_name(bad));
}

TEST_CASE("plan_prune: keep N, oldest first, others ignored") {
  std::vector<ArchiveFile> files = {{"b-20260102T000000Z.tar.gz", 10},
                                    {"a-20260101T000000Z.tar.gz", 10},
                                    {"a-20260103T000000Z.tar.gz", 10},
                                    {"a-20260103T000000Z-1.tar.gz", 10},
                                    {"README", 999},
                                    {"c-20260101T000000Z.tar", 10}};
  CHECK(plan_prune(files, 2, std::nullopt) ==
        std::vector<std::string>{"a-20260101T000000Z.tar.gz", "b-20260102T000000Z.tar.gz"});
  CHECK(plan_prune(files, 10, std::nullopt).empty());
  CHECK(plan_prune(files, 0, std::nullopt).size() == 4);
  CHECK(plan_prune(files, std::nullopt, std::nullopt).empty());
}

TEST_CASE("plan_prune: bytes, and the new archive is protected") {
  std::vector<ArchiveFile> files = {{"a-20260101T000000Z.tar.gz", 100},
                                    {"a-20260102T000000Z.tar.gz", 100},
                                    {"a-20260103T000000Z.tar.gz", 500}};
  CHECK(plan_prune(files, std::nullopt, 600) ==
        std::vector<std::string>{"a-20260101T000000Z.tar.gz"});
  // The newest alone is over the limit: everything else goes, it stays.
  CHECK(plan_prune(files, std::nullopt, 10, "a-20260103T000000Z.tar.gz") ==
        std::vector<std::string>{"a-20260101T000000Z.tar.gz", "a-20260102T000000Z.tar.gz"});
  CHECK(plan_prune(files, 1, std::nullopt, "a-20260101T000000Z.tar.gz") ==
        std::vector<std::string>{"a-20260102T000000Z.tar.gz", "a-20260103T000000Z.tar.gz"});
}

TEST_CASE("prune: removes only archives, in the folder given") {
  vmu::test::TempDir d;
  for (const char* n : {"a-20260101T000000Z.tar.gz", "a-20260102T000000Z.tar.gz",
                        "a-20260103T000000Z.tar.gz", "keep-me.tar.gz", ".vmu-archive-x"})
    std::ofstream(d.path / n) << "0123456789";
  std::filesystem::create_directory(d.path / "b-20250101T000000Z.tar.gz");  // a folder: not ours
  auto gone = prune(d.path, 1, std::nullopt, "a-20260103T000000Z.tar.gz");
  REQUIRE(gone.size() == 2);
  CHECK(gone[0].path.filename() == "a-20260101T000000Z.tar.gz");
  CHECK(gone[0].size == 10);
  CHECK(std::filesystem::exists(d.path / "a-20260103T000000Z.tar.gz"));
  CHECK(std::filesystem::exists(d.path / "keep-me.tar.gz"));
  CHECK(std::filesystem::exists(d.path / ".vmu-archive-x"));
  CHECK(std::filesystem::exists(d.path / "b-20250101T000000Z.tar.gz"));
  CHECK(prune(d.path, std::nullopt, std::nullopt).empty());
}
