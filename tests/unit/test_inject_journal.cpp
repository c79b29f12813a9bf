#include <catch2/catch.hpp>

#include "ext4/image.hpp"
#include "ext4_test_image.hpp"
#include "inject/inject.hpp"
#include "inject/journal.hpp"
#include "inject/request.hpp"

using namespace vmu;
using namespace vmu::inject;

TEST_CASE("the journald drop-in: persistent, synced every second") {
  const std::string d = journal_dropin();
  CHECK(d.find("[Journal]\nStorage=persistent\nSyncIntervalSec=1s\n") != std::string::npos);
  CHECK(journal_json() == nlohmann::json{{"persistent", true},
                                         {"dropin", std::string(kJournalDropin)},
                                         {"sync_interval", "1s"}});
}

TEST_CASE("persist_journal writes the drop-in and records it; alone it is a request") {
  test::TempImage ti;
  Request req;
  CHECK(req.empty());
  req.persist_journal = true;
  CHECK_FALSE(req.empty());
  auto res = inject::inject(ti.image, req, {});
  REQUIRE(res.journal);
  CHECK(res.agent_json()["journal"]["dropin"] == std::string(kJournalDropin));
  CHECK(ti.fsck_clean());
  auto img = ext4::Image::open(ti.image, ext4::Access::read_only);
  CHECK(img.read_file(std::string(kJournalDropin)) == journal_dropin());
  auto st = img.stat(std::string(kJournalDropin));
  REQUIRE(st);
  CHECK(st->mode == 0644);
  // Idempotent: a second run leaves the same file.
  auto again = inject::inject(ti.image, req, {});
  CHECK(again.journal);
}

TEST_CASE("spec: persist_journal") {
  auto r = parse_spec(nlohmann::json{{"version", 1}, {"persist_journal", true}}, "/tmp",
                      [](const std::string&) { return std::nullopt; });
  CHECK(r.persist_journal);
  CHECK_THROWS_AS(parse_spec(nlohmann::json{{"version", 1}, {"persist_journal", "yes"}}, "/tmp",
                             [](const std::string&) { return std::nullopt; }),
                  Error);
  Request a, b;
  b.persist_journal = true;
  a.merge(std::move(b), false);
  CHECK(a.persist_journal);
}
