// The argument check before CLI11 parses (lib/cli/command_line.cpp):
// unknown options and subcommands, options of another subcommand.
#include <catch2/catch.hpp>

#include "cli/command_line.hpp"
#include "util/error.hpp"

using namespace vmu;

namespace {

struct Tool {
  CLI::App app{"t", "t"};
  cli::CommandLine cl{app};
  std::string pool, state;
  unsigned count = 1, grace = 0;
  bool dry = false, q = false;
  std::vector<std::string> ids;
  CLI::App *alloc, *list, *gc;
  Tool() {
    cl.add_common(app.add_flag("-q", q));
    cl.add_common(app.add_option("--state-dir", state));
    auto* p = app.add_option("-p,--pool", pool);
    app.add_option("-n,--count", count);
    app.add_option("--id", ids)->expected(1)->allow_extra_args(false);
    alloc = app.add_subcommand("alloc");
    list = app.add_subcommand("list");
    gc = app.add_subcommand("gc");
    gc->add_option("--grace", grace);
    gc->add_flag("--dry-run", dry);
    cl.share_all(alloc);
    cl.share(p, list);
  }
  std::string check(std::vector<const char*> args) {
    args.insert(args.begin(), "t");
    try {
      cl.check(static_cast<int>(args.size()), args.data());
      return "ok";
    } catch (const Error& e) {
      CHECK(e.code() == Exit::usage);
      return e.what();
    }
  }
};

}  // namespace

TEST_CASE("command line: what each subcommand takes") {
  Tool t;
  CHECK(t.check({"-p", "10.0.0.0/24", "-n", "3"}) == "ok");
  CHECK(t.check({"alloc", "-n3", "-q"}) == "ok");
  CHECK(t.check({"list", "--pool", "x", "--state-dir", "d"}) == "ok");
  CHECK(t.check({"-q", "--state-dir=d", "gc", "--grace", "5", "--dry-run"}) == "ok");
  CHECK(t.check({"--", "whatever"}) == "ok");
}

TEST_CASE("command line: refused with where the option belongs") {
  Tool t;
  CHECK(t.check({"list", "--count", "3"}) ==
        "'--count' does not apply to 't list' (it is an option of 't alloc')");
  CHECK(t.check({"-n", "3", "gc"}) ==
        "'--count' does not apply to 't gc' (it is an option of 't alloc')");
  CHECK(t.check({"list", "--grace", "3"}) == "'--grace' is an option of 't gc', not of 't list'");
  CHECK(t.check({"--dry-run", "gc"}) == "'--dry-run' is an option of 't gc', not of 't'");
}

TEST_CASE("command line: did you mean") {
  Tool t;
  CHECK(t.check({"lsit"}) ==
        "unknown command 'lsit' (did you mean 'list'?); commands: alloc, list, gc");
  CHECK(t.check({"--poool", "x"}) == "unknown option '--poool' (did you mean '--pool'?)");
  CHECK(t.check({"-x"}) == "unknown option '-x'");
  CHECK(t.check({"--id", "a", "b"}).rfind("unknown command 'b'", 0) == 0);
}

TEST_CASE("command line: the options of a subcommand, grouped, each once") {
  Tool t;
  const auto o = t.cl.options_of(t.list);
  CHECK(o.own.empty());
  REQUIRE(o.shared.size() == 1);
  CHECK(o.shared[0]->get_name() == "--pool");
  CHECK(o.common.size() == 2);
  CHECK(t.cl.accepts(t.alloc, t.app.get_option("--count")));
  CHECK_FALSE(t.cl.accepts(t.gc, t.app.get_option("--count")));
}
