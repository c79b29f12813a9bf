// Units as systemd would load them from an image, and the unit facts of a
// record (lib/inspect/units.cpp): one place for vm-wait-ready and
// vm-logs-archive.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "ext4_test_image.hpp"
#include "inspect/units.hpp"

using namespace vmu;
namespace fs = std::filesystem;

namespace {

// An image with units: a file, a template, a masked one, a dangling link.
struct UnitImage {
  fs::path dir, image;
  UnitImage() {
    char tmpl[] = "/tmp/vmu-units-test.XXXXXX";
    dir = ::mkdtemp(tmpl);
    const fs::path etc = dir / "root/etc/systemd/system", lib = dir / "root/lib/systemd/system";
    fs::create_directories(etc);
    fs::create_directories(lib);
    std::ofstream(lib / "agent.service")
        << "[Unit]\nDescription=The agent\n[Service]\nExecStart=/opt/agent/run --x\n"
           "Restart=on-failure\nRestartSec=2\n";
    std::ofstream(etc / "agent.service") << "[Unit]\nDescription=The local agent\n"
                                            "[Service]\nExecStart=/usr/bin/local-agent\n";
    std::ofstream(lib / "worker@.service")
        << "[Unit]\nDescription=Worker %i\n[Service]\nExecStart=/usr/bin/worker\n";
    fs::create_symlink("/dev/null", etc / "masked.service");
    fs::create_symlink("/nowhere/x.service", etc / "dangling.service");
    fs::create_directory(etc / "folder.service");
    image = dir / "img.ext4";
    if (test::run_quiet({"mke2fs", "-q", "-F", "-t", "ext4", "-d", (dir / "root").string(),
                         image.string(), "8M"}) != 0)
      throw std::runtime_error("mke2fs failed");
  }
  ~UnitImage() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

TEST_CASE("locate_unit: systemd's precedence, templates, masks, dangling links") {
  UnitImage u;
  auto img = ext4::Image::open(u.image, ext4::Access::read_only);
  using F = inspect::UnitFile::Found;
  auto a = inspect::locate_unit(img, "agent.service");
  CHECK(a.found == F::file);
  CHECK(a.path == "/etc/systemd/system/agent.service");  // /etc before /lib
  auto w = inspect::locate_unit(img, "worker@3.service");
  CHECK(w.found == F::file);
  CHECK(w.path == "/lib/systemd/system/worker@.service");
  CHECK(inspect::locate_unit(img, "masked.service").found == F::masked);
  auto d = inspect::locate_unit(img, "dangling.service");
  CHECK(d.found == F::dangling);
  CHECK(d.link_target == "/nowhere/x.service");
  CHECK(inspect::locate_unit(img, "folder.service").found == F::not_a_file);
  auto n = inspect::locate_unit(img, "none.service");
  CHECK(n.found == F::none);
  CHECK(n.searched.size() == 3);
  CHECK(inspect::unit_template("a@b.service") == "a@.service");
  CHECK(inspect::unit_template("a.service").empty());
}

TEST_CASE("unit_facts: the record's units, then --unit, with their files") {
  const nlohmann::json rec = {
      {"agent",
       {{"units",
         {{{"name", "agent.service"}, {"enabled_in", {"multi-user.target.wants"}}},
          {{"name", "worker@3.service"}},
          {{"nome", "x"}},
          "not an object"}}}}};
  // Without an image: names only.
  auto bare = inspect::unit_facts(rec, {"extra", "agent.service"}, nullptr);
  REQUIRE(bare.size() == 3);
  CHECK(bare[0].name == "agent.service");
  CHECK(bare[0].in_record);
  CHECK(bare[0].enabled_in == std::vector<std::string>{"multi-user.target.wants"});
  CHECK_FALSE(bare[0].from_image);
  CHECK(bare[1].name == "worker@3.service");
  CHECK(bare[1].in_record);
  CHECK(bare[2].name == "extra.service");
  CHECK_FALSE(bare[2].in_record);
  CHECK(inspect::unit_facts(nlohmann::json::object(), {}, nullptr).empty());

  UnitImage u;
  auto img = ext4::Image::open(u.image, ext4::Access::read_only);
  auto facts = inspect::unit_facts(rec, {"masked"}, &img);
  REQUIRE(facts.size() == 3);
  CHECK(facts[0].from_image);
  CHECK(facts[0].description == "The local agent");  // the file systemd would load
  CHECK(std::find(facts[0].idents.begin(), facts[0].idents.end(), "local-agent") !=
        facts[0].idents.end());
  CHECK(facts[1].from_image);
  CHECK(facts[1].description == "Worker 3");  // %i resolved, as on the console
  CHECK_FALSE(facts[2].from_image);           // masked: no file to read
}
