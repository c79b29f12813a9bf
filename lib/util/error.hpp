// Errors and exit codes. Library code throws vmu::Error; one catch at the top
// of each tool (cli/tool.cpp) prints it once and turns it into the exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vmu {

// The exit codes of every tool (DESIGN.md, "Exit codes"); man pages list them.
enum class Exit : int {
  ok = 0,
  failed = 1,        // an operation or the environment failed
  usage = 2,         // usage or bad input
  not_ready = 3,     // not ready before the deadline
  guest_failed = 4,  // the guest failed or its image is broken (diagnosed)
  exhausted = 5,     // a resource ran out (pool, disk, image space)
  interrupted = 130,
};

// A stable word for an exit code, used as `error.reason` when none more
// precise is given.
std::string_view exit_word(Exit code);

class Error : public std::runtime_error {
 public:
  Error(Exit code, std::string message);
  Error(Exit code, std::string reason, std::string message);

  Exit code() const { return code_; }
  // A stable machine-readable word ("pool_exhausted", "usage", ...).
  const std::string& reason() const { return reason_; }

 private:
  Exit code_;
  std::string reason_;
};

// "<doing>: <strerror(err)>", as Exit::failed unless told otherwise.
// `doing` names the action and quotes the input: "opening '/dev/net/tun'".
Error sys_error(std::string_view doing, int err);
Error sys_error(Exit code, std::string_view doing, int err);

}  // namespace vmu
