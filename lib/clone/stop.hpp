// Cancellation for long operations: the caller (a tool) passes a predicate
// that turns true once the user asked to stop (SIGINT, SIGTERM); library code
// asks it between chunks of work and unwinds with Exit::interrupted.
#pragma once

#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "util/error.hpp"

namespace vmu {

using StopFn = std::function<bool()>;

inline void throw_if_stopped(const StopFn& stop, std::string_view doing) {
  if (stop && stop())
    throw Error(Exit::interrupted, "interrupted", fmt::format("interrupted while {}", doing));
}

}  // namespace vmu
