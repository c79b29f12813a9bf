#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "proc/spawn.hpp"
#include "util/proc.hpp"
#include "vmm/stop.hpp"

using namespace vmu;
using namespace vmu::vmm;
using namespace std::chrono_literals;

namespace {

StopRequest req_for(const Spawned& c, std::chrono::milliseconds grace) {
  StopRequest r;
  r.pid = c.pid;
  r.start_time = c.start_time;
  r.grace = grace;
  return r;
}

}  // namespace

TEST_CASE("stop_vm: SIGTERM, then SIGKILL for a process that ignores it") {
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto c = spawn_detached(o);
  auto out = stop_vm(req_for(c, 2000ms));
  CHECK(out.how == StopHow::sigterm);
  try_reap(c.pid);

  SpawnOptions o2;
  o2.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"};
  auto c2 = spawn_detached(o2);
  std::this_thread::sleep_for(100ms);
  auto out2 = stop_vm(req_for(c2, 200ms));
  CHECK(out2.how == StopHow::sigkill);
  CHECK(out2.steps.back().find("SIGKILL") != std::string::npos);
  try_reap(c2.pid);
}

TEST_CASE("stop_vm: a control socket that does not answer falls back to signals") {
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto c = spawn_detached(o);
  auto r = req_for(c, 2000ms);
  r.backend = Backend::qemu;
  r.control_socket = "/nonexistent/qmp.sock";
  auto out = stop_vm(r);
  CHECK(out.how == StopHow::sigterm);
  CHECK(out.steps.front().find("QMP") != std::string::npos);
  try_reap(c.pid);
}

TEST_CASE("stop_vm: gone, or a pid that is another process now") {
  CHECK(stop_vm(StopRequest{}).how == StopHow::not_running);
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto c = spawn_detached(o);
  auto r = req_for(c, 100ms);
  r.start_time = c.start_time + 1;
  CHECK(stop_vm(r).how == StopHow::pid_reused);
  CHECK(process_alive(c.pid, c.start_time));
  stop_process(c.pid, c.start_time, 1000ms);
  CHECK(stop_vm(req_for(c, 100ms)).how == StopHow::not_running);
}

TEST_CASE("stop_request from a record's vmm section") {
  auto rec = Record::from_json(Json{{"v", 1},
                                    {"id", "vm-1"},
                                    {"vmm",
                                     {{"backend", "firecracker"},
                                      {"pid", 77},
                                      {"start_time", 5},
                                      {"control_socket", "/run/x/api.sock"}}}});
  auto r = stop_request(rec);
  REQUIRE(r);
  CHECK(r->backend == Backend::firecracker);
  CHECK(r->pid == 77);
  CHECK(r->start_time == 5u);
  CHECK(r->control_socket == "/run/x/api.sock");
  CHECK_FALSE(stop_request(Record::from_json(Json{{"v", 1}, {"id", "vm-1"}})));
  CHECK(stop_word(StopHow::ctrl_alt_del) == "ctrl_alt_del");
}
