// The HTTP health probe: many GETs at once on one libcurl multi handle,
// driven by the caller's event loop through curl's socket API (curl says
// which sockets to watch and when its timer fires; the loop reports
// readiness back). No thread, no polling. Each result is classified by
// the OS errno curl saw (CURLINFO_OS_ERRNO), because curl's text for
// "refused" and "unreachable" is the same.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "diagnose/verdict.hpp"

namespace vmu::wait {

// An expected status: one code or a range ("200", "200-299").
struct StatusRange {
  int lo = 200, hi = 200;
  bool contains(int s) const { return s >= lo && s <= hi; }
  std::string str() const;
};
// Throws Exit::usage quoting the text.
StatusRange parse_status_range(std::string_view text);

struct ProbeResult {
  diagnose::Outcome outcome = diagnose::Outcome::other;
  int http_status = 0;
  int os_errno = 0;
  std::string detail;  // curl's words (and the errno's) for reset/other
  std::chrono::milliseconds took{0};
};

class Probes {
 public:
  using Id = std::uint64_t;
  // `watch(fd, in, out)`: start/change watching fd (both false: stop).
  // `timer(ms)`: call on_timeout() in ms (-1: no timer).
  struct Hooks {
    std::function<void(int fd, bool in, bool out)> watch;
    std::function<void(long ms)> timer;
  };
  explicit Probes(Hooks hooks);
  ~Probes();
  Probes(const Probes&) = delete;
  Probes& operator=(const Probes&) = delete;

  // Starts GET url (one at a time per id). `expect` decides ok vs http_status.
  void start(Id id, const std::string& url, StatusRange expect,
             std::chrono::milliseconds connect_timeout, std::chrono::milliseconds total_timeout);
  void cancel(Id id);
  bool running(Id id) const;

  void on_socket(int fd, bool in, bool out, bool error);
  void on_timeout();
  // Results completed since the last call.
  std::vector<std::pair<Id, ProbeResult>> take_done();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmu::wait
