#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "evidence/journal.hpp"
#include "ext4/image.hpp"
#include "ext4_test_image.hpp"
#include "helpers.hpp"

using namespace vmu::evidence;
namespace fs = std::filesystem;

namespace {

// Runs argv with stdout into `out` (a file); returns the exit code.
int run_to(const std::vector<std::string>& argv, const fs::path& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kJournalRemote = "/lib/systemd/systemd-journal-remote";

}  // namespace

TEST_CASE("export_as_text: printable UTF-8 without newline") {
  CHECK(export_as_text("hello world"));
  CHECK(export_as_text(""));
  CHECK(export_as_text("tab\there"));
  CHECK(export_as_text("caf\xC3\xA9 \xE2\x80\xA6"));
  CHECK_FALSE(export_as_text("two\nlines"));
  CHECK_FALSE(export_as_text("bell\x07"));
  CHECK_FALSE(export_as_text("bad \xC3"));
  CHECK_FALSE(export_as_text("overlong \xC0\xAF"));
  CHECK_FALSE(export_as_text("c1 \xC2\x85"));
  CHECK_FALSE(export_as_text(std::string("nul\0", 4)));
}

TEST_CASE("export_entry: header, text and binary fields, blank line") {
  JournalEntry e;
  e.cursor = "s=1;i=2";
  e.realtime_us = 1700000000000000;
  e.monotonic_us = 1000;
  e.boot_id = "0123456789abcdef0123456789abcdef";
  e.fields = {{"_BOOT_ID", "0123456789abcdef0123456789abcdef"},
              {"MESSAGE", "line1\nline2"},
              {"SYSLOG_IDENTIFIER", "app"}};
  const std::string want = std::string(
                               "__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1700000000000000\n"
                               "__MONOTONIC_TIMESTAMP=1000\n_BOOT_ID="
                               "0123456789abcdef0123456789abcdef\nMESSAGE\n") +
                           std::string("\x0b\0\0\0\0\0\0\0", 8) +
                           "line1\nline2\nSYSLOG_IDENTIFIER=app\n\n";
  CHECK(export_entry(e) == want);
}

TEST_CASE("text_line: time, host, ident[pid], indented continuation") {
  JournalEntry e;
  e.realtime_us = 1700000000123456;
  e.fields = {{"_HOSTNAME", "guest"},
              {"SYSLOG_IDENTIFIER", "vm-agent"},
              {"_PID", "42"},
              {"MESSAGE", "first\nsecond"}};
  const std::string head = "2023-11-14T22:13:20.123456Z guest vm-agent[42]: ";
  CHECK(text_line(e) == head + "first\n" + std::string(head.size(), ' ') + "second\n");
  e.fields = {{"_COMM", "x"}, {"MESSAGE", std::string("\x01\x02", 2)}};
  CHECK(text_line(e) == "2023-11-14T22:13:20.123456Z - x: [2 bytes of binary data]\n");
}

TEST_CASE("a journal file inside an image: extracted and exported as journalctl does") {
  REQUIRE(fs::exists(kJournalRemote));  // systemd-journal-remote (scripts/install-deps)
  vmu::test::TempDir d;
  const std::string mid = "1a76f38f21b688cff82f67536187bd34";
  // An export with a text and a binary message, turned into a real journal file.
  std::ofstream(d.path / "in.export", std::ios::binary)
      << "__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1000\n"
         "_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=hello from the guest\n"
         "SYSLOG_IDENTIFIER=vm-agent\n_PID=42\n_HOSTNAME=guest\n\n"
         "__REALTIME_TIMESTAMP=1700000001000000\n__MONOTONIC_TIMESTAMP=2000\n"
         "_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE\n"
      << std::string("\x0b\0\0\0\0\0\0\0", 8) << "line1\nline2\nSYSLOG_IDENTIFIER=bin\n\n";
  const fs::path root = d.path / "root";
  fs::create_directories(root / "etc");
  fs::create_directories(root / "var/log/journal" / mid);
  std::ofstream(root / "etc/machine-id") << mid << "\n";
  const fs::path jfile = root / "var/log/journal" / mid / "system.journal";
  REQUIRE(run_to({kJournalRemote, "-o", jfile.string(), (d.path / "in.export").string()},
                 d.path / "remote.out") == 0);
  REQUIRE(run_to({"journalctl", "--file", jfile.string(), "-o", "export"}, d.path / "ref.export") ==
          0);
  const fs::path image = d.path / "img.ext4";
  REQUIRE(vmu::test::run_quiet({"mke2fs", "-q", "-F", "-t", "ext4", "-d", root.string(),
                                image.string(), "32M"}) == 0);

  auto img = vmu::ext4::Image::open(image, vmu::ext4::Access::read_only);
  fs::create_directories(d.path / "out");
  std::string why;
  auto files = extract_journal(img, d.path / "out", 64u << 20, why);
  REQUIRE(files);
  CHECK(files->machine_id == mid);
  REQUIRE(files->files.size() == 1);
  CHECK(files->sources[0] == "/var/log/journal/" + mid + "/system.journal");
  std::string exp, text;
  auto r = read_journal(files->files, [&](const JournalEntry& e) {
    exp += export_entry(e);
    text += text_line(e);
    return true;
  });
  CHECK(r.entries == 2);
  CHECK(exp == slurp(d.path / "ref.export"));
  CHECK(text.find("guest vm-agent[42]: hello from the guest\n") != std::string::npos);
  CHECK(text.find("- bin: line1\n") != std::string::npos);

  // Too little room: nothing copied, and the reason says so.
  fs::create_directories(d.path / "out2");
  CHECK_FALSE(extract_journal(img, d.path / "out2", 10, why));
  CHECK(why.find("over the 10 byte limit") != std::string::npos);
}

TEST_CASE("an image without a persistent journal says why") {
  vmu::test::TempImage ti;
  auto img = vmu::ext4::Image::open(ti.image, vmu::ext4::Access::read_only);
  vmu::test::TempDir d;
  std::string why;
  CHECK_FALSE(extract_journal(img, d.path, 1u << 20, why));
  CHECK(why.find("--persist-journal") != std::string::npos);
}
