#include <catch2/catch.hpp>

#include "ext4/image.hpp"
#include "ext4_test_image.hpp"
#include "util/error.hpp"

using namespace vmu;
using namespace vmu::ext4;

namespace {

Exit code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Exit::ok;
}

std::string reason_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.reason();
  }
  return "";
}

}  // namespace

TEST_CASE("ext4: split_guest_path", "[ext4]") {
  CHECK(split_guest_path("/") == std::vector<std::string>{});
  CHECK(split_guest_path("//a///b/") == std::vector<std::string>{"a", "b"});
  CHECK(split_guest_path("/a/../b") == std::vector<std::string>{"a", "..", "b"});
  CHECK(code_of([] { split_guest_path("a/b"); }) == Exit::usage);
  CHECK(code_of([] { split_guest_path(""); }) == Exit::usage);
  CHECK(code_of([] { split_guest_path("/" + std::string(256, 'x')); }) == Exit::usage);
}

TEST_CASE("ext4: open refuses what is not an ext filesystem", "[ext4]") {
  test::TempImage t;
  const auto junk = t.dir / "junk";
  std::ofstream(junk) << std::string(200000, 'j');
  CHECK(reason_of([&] { Image::open(junk, Access::read_only); }) == "not_ext4");
  CHECK(code_of([&] { Image::open(t.dir / "missing", Access::read_only); }) == Exit::usage);
}

TEST_CASE("ext4: read side: stat, read, list, symlinks", "[ext4]") {
  test::TempImage t;
  {
    auto img = Image::open(t.image, Access::read_write);
    img.symlink("/etc", "/link-abs");
    img.symlink("../../../../etc", "/link-rel");
    img.symlink("b", "/loop-a");
    img.symlink("a", "/b");
    img.symlink("loop-a", "/a");
    img.close();
  }
  auto img = Image::open(t.image, Access::read_only);
  auto st = img.stat("/etc/hostname");
  REQUIRE(st);
  CHECK(st->type == FileType::regular);
  CHECK(st->size == 7);
  CHECK(img.read_file("/etc/hostname") == "debian\n");
  CHECK(img.read_file("/link-abs/hostname") == "debian\n");
  CHECK(img.read_file("/link-rel/hostname") == "debian\n");  // `..` stops at the root
  CHECK(img.read_file("/../../etc/hostname") == "debian\n");
  CHECK(img.read_link("/link-rel") == "../../../../etc");
  CHECK(img.stat("/link-abs")->type == FileType::symlink);
  CHECK(img.stat("/link-abs", Follow::yes)->type == FileType::directory);
  CHECK_FALSE(img.stat("/etc/nope"));
  CHECK(reason_of([&] { img.stat("/loop-a", Follow::yes); }) == "symlink_loop");
  CHECK(code_of([&] { img.stat("/loop-a/x"); }) == Exit::guest_failed);
  CHECK(code_of([&] { img.stat("/etc/hostname/x"); }) == Exit::usage);
  CHECK(reason_of([&] { img.read_file("/etc/hostname", 3); }) == "too_large");
  auto entries = img.list("/etc");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "environment");
  CHECK(entries[1].name == "hostname");
  CHECK(img.space().inodes_free > 0);
  CHECK(code_of([&] { img.make_dirs("/x", std::nullopt); }) == Exit::failed);  // read-only
}

TEST_CASE("ext4: write side on every flavour stays fsck-clean", "[ext4]") {
  for (const auto& opts : std::vector<std::vector<std::string>>{{"-t", "ext4"},
                                                                {"-t", "ext4", "-O", "inline_data"},
                                                                {"-t", "ext4", "-b", "4096"},
                                                                {"-t", "ext2"}}) {
    test::TempImage t(opts);
    std::string big(3000000, 'z');
    for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>(i / 4093);
    std::uint64_t free_before = 0;
    {
      auto img = Image::open(t.image, Access::read_write);
      free_before = img.space().blocks_free;
      img.make_dirs("/opt/a/b", Attrs{0700, 5, 6});
      MemoryReader r1(big);
      CHECK(img.write_file("/opt/a/b/big", r1, Attrs{0640, 70000, 70001}) == big.size());
      // Rewrite a small (inline, on inline_data) file with a large one.
      MemoryReader r2(big);
      img.write_file("/etc/environment", r2, Attrs{0644, 0, 0});
      MemoryReader r3("short\n");
      img.write_file("/etc/hostname", r3, Attrs{0644, 0, 0});
      img.symlink("/opt/a", "/srv/link", 1, 2);
      img.symlink("/opt/a", "/srv/link", 1, 2);  // same target: kept
      img.symlink("/opt", "/srv/link");          // new target: replaced
      CHECK(img.remove("/etc/hostname"));
      CHECK_FALSE(img.remove("/etc/hostname"));
      CHECK_FALSE(img.remove("/no/such/dir/x"));
      CHECK(code_of([&] { img.remove("/opt"); }) == Exit::usage);
      MemoryReader r4("x");
      CHECK(reason_of([&] { img.write_file("/opt/a", r4, Attrs{}); }) == "exists");
      img.close();
    }
    INFO(opts[opts.size() - 1]);
    CHECK(t.fsck_clean());
    auto img = Image::open(t.image, Access::read_only);
    CHECK(img.read_file("/opt/a/b/big", 8u << 20) == big);
    CHECK(img.read_file("/etc/environment", 8u << 20) == big);
    auto st = img.stat("/opt/a/b/big");
    CHECK(st->mode == 0640);
    CHECK(st->uid == 70000);
    CHECK(st->gid == 70001);
    auto d = img.stat("/opt/a/b");
    CHECK(d->mode == 0700);
    CHECK(d->uid == 5);
    CHECK(img.stat("/opt/a")->mode == 0755);
    CHECK(img.read_link("/srv/link") == "/opt");
    CHECK(img.stat("/srv/link")->uid == 0);
    CHECK_FALSE(img.stat("/etc/hostname"));
    CHECK(img.space().blocks_free < free_before);
  }
}

TEST_CASE("ext4: a write through an escaping symlink stays in the image", "[ext4]") {
  test::TempImage t;
  {
    auto img = Image::open(t.image, Access::read_write);
    img.make_dirs("/tmp", std::nullopt);
    img.symlink("../../../../../tmp/x", "/var");  // dangling, "outside"
    MemoryReader r("data");
    img.write_file("/var/file", r, Attrs{});
    img.close();
  }
  CHECK(t.fsck_clean());
  auto img = Image::open(t.image, Access::read_only);
  CHECK(img.read_file("/tmp/x/file") == "data");
  CHECK(img.stat("/var")->type == FileType::symlink);
}
