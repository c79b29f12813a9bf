// Records out, and which ones a reader that went away never received
// (lib/cli/output.cpp), over a real pipe.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "cli/output.hpp"
#include "helpers.hpp"

using vmu::cli::RecordOutput;

namespace {
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  std::string read_line() {
    std::string s;
    char c = 0;
    while (::read(r, &c, 1) == 1 && c != '\n') s += c;
    return s;
  }
  void close_reader() {
    ::close(r);
    r = -1;
  }
};
}  // namespace

TEST_CASE("output: while the reader is there, nothing is unreceived") {
  Pipe p;
  RecordOutput out(p.w);
  CHECK(out.write("{\"id\":\"a\"}", "a"));
  CHECK_FALSE(out.reader_gone());
  CHECK(out.unreceived().empty());
  CHECK(p.read_line() == "{\"id\":\"a\"}");
}

TEST_CASE("output: lines left unread when the reader exits were not received") {
  Pipe p;
  RecordOutput out(p.w);
  REQUIRE(out.write("line-a", "a"));
  REQUIRE(out.write("line-b", "b"));
  REQUIRE(out.write("line-c", "c"));
  CHECK(p.read_line() == "line-a");
  char half[3];
  REQUIRE(::read(p.r, half, 3) == 3);  // "lin" of b: b was read in part only
  p.close_reader();
  // The tools ignore SIGPIPE (a closed stdout is an EPIPE they handle).
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  CHECK(out.reader_gone());
  CHECK(out.unreceived() == std::vector<std::string>{"b", "c"});
  // The next write meets EPIPE: not received either.
  CHECK_FALSE(out.write("line-d", "d"));
  CHECK(out.closed());
  CHECK(out.unreceived() == std::vector<std::string>{"b", "c", "d"});
  ::sigaction(SIGPIPE, &old, nullptr);
}

TEST_CASE("output: a file is never 'gone'") {
  vmu::test::TempDir dir;
  const auto f = dir.path / "out";
  const int fd = ::open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  RecordOutput out(fd);
  CHECK(out.write("x", "a"));
  CHECK_FALSE(out.reader_gone());
  CHECK(out.unreceived().empty());
  ::close(fd);
}
