// The record pipeline every tool shares (cli::Tool::pipeline), driven with
// real files as stdin and stdout.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli/tool.hpp"
#include "helpers.hpp"
#include "record/jsonl.hpp"

using namespace vmu;

namespace {

// stdin from `input`, stdout to a file, for the life of the object.
class Redirect {
 public:
  Redirect(const std::filesystem::path& dir, const std::string& input)
      : in_(dir / "stdin"), out_(dir / "stdout") {
    std::ofstream(in_) << input;
    std::fflush(stdout);
    saved_in_ = ::dup(STDIN_FILENO);
    saved_out_ = ::dup(STDOUT_FILENO);
    int i = ::open(in_.c_str(), O_RDONLY | O_CLOEXEC);
    int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(i, STDIN_FILENO);
    ::dup2(o, STDOUT_FILENO);
    ::close(i);
    ::close(o);
  }
  ~Redirect() {
    ::dup2(saved_in_, STDIN_FILENO);
    ::dup2(saved_out_, STDOUT_FILENO);
    ::close(saved_in_);
    ::close(saved_out_);
  }
  std::vector<Json> records() const {
    std::ifstream f(out_);
    std::vector<Json> out;
    for (std::string line; std::getline(f, line);) out.push_back(Json::parse(line));
    return out;
  }

 private:
  std::filesystem::path in_, out_;
  int saved_in_ = -1, saved_out_ = -1;
};

// A Tool over a fresh state folder (the environment variable, as a user).
struct Fixture {
  test::TempDir dir;
  State state{dir.path / "state", dir.path / "run"};
  Fixture() { ::setenv("VMUTILS_STATE_DIR", state.root().c_str(), 1); }
  ~Fixture() { ::unsetenv("VMUTILS_STATE_DIR"); }
};

std::string line(const std::string& id, const std::string& extra = "") {
  return R"({"v":1,"id":")" + id + "\"" + (extra.empty() ? "" : "," + extra) + "}\n";
}

}  // namespace

TEST_CASE("pipeline: bad lines are reported and skipped, the good ones go on, exit 2") {
  Fixture fx;
  cli::Tool tool("t", "test");
  std::string input = "not json\n" + line("Bad_Id") + line("vm-new", "\"x\":0").replace(5, 1, "9") +
                      std::string(kMaxLineBytes + 10, 'x') + "\n" + line("vm-ok") +
                      "{\"v\":1,\"id\":\"vm-n\",\"x\":1e400}\n";
  Redirect r(fx.dir.path, input);
  int seen = 0;
  const int rc = tool.pipeline(
      [&](Record& rec) {
        ++seen, rec.put("t", Json{{"done", true}});
      },
      {.jobs = 1});
  CHECK(rc == 2);
  CHECK(seen == 1);
  const auto out = r.records();
  REQUIRE(out.size() == 1);
  CHECK(out[0]["id"] == "vm-ok");
  CHECK(out[0]["t"]["done"] == true);
  CHECK(fx.state.load("vm-ok").get("t")["done"] == true);  // saved before printed
}

TEST_CASE("pipeline: the exit code is the first failure's; failed records pass untouched") {
  Fixture fx;
  cli::Tool tool("t", "test");
  const std::string failed =
      line("vm-f", R"("error":{"tool":"earlier","code":3,"reason":"r","message":"m"})");
  Redirect r(fx.dir.path, line("vm-a") + failed + line("vm-b") + line("vm-c"));
  const int rc = tool.pipeline(
      [&](Record& rec) {
        if (rec.id() == "vm-a") throw Error(Exit::guest_failed, "broken", "guest broken");
        if (rec.id() == "vm-b") throw Error(Exit::exhausted, "full", "disk full");
      },
      {.jobs = 1});
  CHECK(rc == 4);
  const auto out = r.records();
  REQUIRE(out.size() == 4);
  CHECK(out[0]["error"]["reason"] == "broken");
  CHECK(out[0]["error"]["tool"] == "t");
  CHECK(out[1] == Json::parse(failed));  // untouched
  CHECK_FALSE(fx.state.exists("vm-f"));  // and not saved
  CHECK(out[2]["error"]["code"] == 5);
  CHECK_FALSE(out[3].contains("error"));
  CHECK(fx.state.load("vm-a").failed());
}

TEST_CASE("pipeline: a refusal keeps a saved record that is further along") {
  Fixture fx;
  Record saved = Record::parse(line("vm-s", R"("rootfs":{"path":"/x"})"));
  fx.state.save(saved);
  cli::Tool tool("t", "test");
  Redirect r(fx.dir.path, line("vm-s"));
  const int rc = tool.pipeline(
      [&](Record&) { throw Error(Exit::usage, "rootfs_exists", "exists"); }, {.jobs = 1});
  CHECK(rc == 2);
  CHECK(r.records().at(0)["error"]["reason"] == "rootfs_exists");
  const Record now = fx.state.load("vm-s");
  CHECK(now.get("rootfs")["path"] == "/x");
  CHECK_FALSE(now.failed());
}

TEST_CASE("pipeline: --id loads saved records; an unknown id is bad input") {
  Fixture fx;
  fx.state.save(Record::parse(line("vm-i")));
  cli::Tool tool("t", "test");
  tool.add_id_option(&tool.app(), "VM", true);
  const char* argv[] = {"t", "--id", "vm-i", "--id", "vm-zz"};
  int rc = -1;
  Redirect r(fx.dir.path, "");
  rc = tool.main(5, const_cast<char**>(argv), [&] {
    return tool.pipeline([](Record& rec) { rec.put("t", true); }, {.jobs = 1});
  });
  CHECK(rc == 2);  // vm-zz: unknown
  const auto out = r.records();
  REQUIRE(out.size() == 1);
  CHECK(out[0]["t"] == true);
}

TEST_CASE("pipeline: a failed --id record is reported with its code; --retry runs it again") {
  Fixture fx;
  auto rec = Record::parse(line("vm-f"));
  rec.set_error({"t", Exit::guest_failed, "broken", "it broke"});
  fx.state.save(rec);
  {
    cli::Tool tool("t", "test");
    tool.add_id_option(&tool.app(), "VM", true);
    const char* argv[] = {"t", "--id", "vm-f"};
    Redirect r(fx.dir.path, "");
    bool ran = false;
    const int rc = tool.main(3, const_cast<char**>(argv), [&] {
      return tool.pipeline([&](Record&) { ran = true; }, {.jobs = 1});
    });
    CHECK(rc == 4);
    CHECK_FALSE(ran);
    const auto out = r.records();
    REQUIRE(out.size() == 1);
    CHECK(out[0]["error"]["reason"] == "broken");  // passed on as it is
  }
  {
    cli::Tool tool("t", "test");
    tool.add_id_option(&tool.app(), "VM", true);
    const char* argv[] = {"t", "--id", "vm-f", "--retry"};
    Redirect r(fx.dir.path, "");
    const int rc = tool.main(4, const_cast<char**>(argv), [&] {
      return tool.pipeline([](Record& x) { x.put("t", true); }, {.jobs = 1});
    });
    CHECK(rc == 0);
    CHECK_FALSE(fx.state.load("vm-f").failed());
    CHECK(fx.state.load("vm-f").get("t") == true);
  }
}

TEST_CASE("pipeline: --retry of an earlier step's error is refused") {
  Fixture fx;
  auto rec = Record::parse(line("vm-e"));
  rec.set_error({"rootfs-clone", Exit::usage, "golden_not_ext4", "bad golden"});
  fx.state.save(rec);
  cli::Tool tool("fc-launch", "test");
  tool.add_id_option(&tool.app(), "VM", true);
  const char* argv[] = {"fc-launch", "--id", "vm-e", "--retry"};
  Redirect r(fx.dir.path, "");
  const int rc = tool.main(4, const_cast<char**>(argv), [&] {
    return tool.pipeline([](Record& x) { x.put("t", true); }, {.jobs = 1});
  });
  CHECK(rc == 2);
  CHECK(fx.state.load("vm-e").error().tool == "rootfs-clone");
}
