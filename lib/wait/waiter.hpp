// vm-wait-ready's engine: one thread, one event loop, any number of VMs.
// Per VM it follows the console log (inotify), watches the VMM (pidfd),
// and probes the agent over HTTP (libcurl multi, socket API), feeding a
// diagnose::ConsoleAnalyzer and asking diagnose::decide for a verdict
// whenever something changed or a grace period ran out. Each VM leaves as
// soon as its own verdict is known. Library code: it never prints; the tool
// reads the notes and progress it returns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "diagnose/verdict.hpp"
#include "evidence/redact.hpp"
#include "record/record.hpp"
#include "wait/hostnet.hpp"
#include "wait/probe.hpp"

namespace vmu::wait {

struct Options {
  int port = 8080;
  std::string path = "/health";
  StatusRange expect;
  std::chrono::milliseconds timeout{120000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};
  std::vector<std::string> units;  // --unit: more units that matter
  std::vector<std::string> fail_on, ready_on;
  diagnose::Graces graces;
  bool read_unit_files = true;  // Description=, Restart= ... from the image
  // --redact: keys whose values (from the image's env file) are redacted,
  // besides the record's agent.env_keys.
  std::vector<std::string> redact;
};

// What a record says about the VM to wait for.
struct Target {
  std::string id, ip, tap, bridge;
  pid_t pid = -1;
  std::optional<std::uint64_t> start_time;
  std::filesystem::path console, vmm_log, rootfs;
  std::vector<diagnose::UnitFacts> units;
  std::optional<int> reporter_port;
  // The secrets' values as redaction rules: every console line and vmm.log
  // line is redacted by them before it is read, so neither the record nor
  // stderr ever holds a value.
  evidence::RuleSet secrets;
};

// Reads net.ip (required), net.tap, net.bridge, vmm.pid (required),
// vmm.start_time, vmm.console_log, vmm.log, rootfs.path, agent.units,
// agent.reporter; with opts.read_unit_files, the units' files from the
// image (best effort: a running VM's image is read as it is); the values
// of agent.env_keys and opts.redact from the image's env file. Throws
// Exit::usage naming what is missing, and Exit::failed (cannot_redact)
// when there are secrets whose values cannot be read.
Target read_target(const Record& rec, const Options& opts);

struct Finished {
  Record rec;  // with its `ready` section
  diagnose::Verdict verdict;
};

// Something a person may want to see as it happens.
struct Note {
  std::string id;
  std::int64_t elapsed_ms = 0;
  diagnose::Event event;
};

struct Progress {
  std::string id;
  std::int64_t elapsed_ms = 0;
  std::string milestone;   // latest, "" none
  std::string last_error;  // the probe's last error in a few words
};

class Waiter {
 public:
  Waiter(Options opts, std::unique_ptr<HostNet> net);
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Starts waiting for the record's VM. Throws vmu::Error (bad input) when
  // the record cannot be waited on.
  void add(Record rec);
  std::size_t active() const;

  struct Step {
    bool input_ready = false;  // input_fd is readable
    bool interrupted = false;  // a signal cut the wait short
    std::vector<Finished> finished;
    std::vector<Note> notes;
  };
  // Waits at most `max_wait` for anything to happen (including `input_fd`
  // becoming readable, when >= 0), and handles what did.
  Step step(int input_fd, std::chrono::milliseconds max_wait);

  // Ends every wait now (Ctrl-C): each record gets a `ready` section with
  // `reason`, nothing else decided.
  std::vector<Finished> abort_all(const std::string& reason);

  std::vector<Progress> progress() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmu::wait
