#include "util/error.hpp"

#include <cstring>

#include <fmt/format.h>

namespace vmu {

std::string_view exit_word(Exit code) {
  switch (code) {
    case Exit::ok:
      return "ok";
    case Exit::failed:
      return "failed";
    case Exit::usage:
      return "usage";
    case Exit::not_ready:
      return "not_ready";
    case Exit::guest_failed:
      return "guest_failed";
    case Exit::exhausted:
      return "exhausted";
    case Exit::interrupted:
      return "interrupted";
  }
  return "failed";
}

Error::Error(Exit code, std::string message)
    : std::runtime_error(std::move(message)), code_(code), reason_(exit_word(code)) {}

Error::Error(Exit code, std::string reason, std::string message)
    : std::runtime_error(std::move(message)), code_(code), reason_(std::move(reason)) {}

Error sys_error(std::string_view doing, int err) {
  return sys_error(Exit::failed, doing, err);
}

Error sys_error(Exit code, std::string_view doing, int err) {
  return Error(code, fmt::format("{}: {}", doing, std::strerror(err)));
}

}  // namespace vmu
