// The Firecracker backend: the process's command line, the API requests
// that describe the VM, and a small HTTP-over-Unix-socket client (libcurl).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmm/config.hpp"

namespace vmu::vmm {

struct ApiRequest {
  std::string method;  // "PUT", "GET"
  std::string path;    // "/machine-config"
  Json body;           // null for none
  std::string name() const { return method + " " + path; }
};

// firecracker --api-sock SOCK --id ID --log-path LOG --level Info: the
// logger is configured once, by these flags (never also by PUT /logger).
std::vector<std::string> firecracker_argv(const fs::path& binary, const fs::path& api_socket,
                                          const std::string& id, const fs::path& vmm_log);

// The requests, in order: machine-config, boot-source, drives/rootfs,
// network-interfaces/eth0 (when the VM has a NIC), serial (when
// `serial_api`: the console straight into `console_log`), then
// actions InstanceStart.
std::vector<ApiRequest> firecracker_requests(const VmSpec& spec, const fs::path& console_log,
                                             bool serial_api);

// True when a Firecracker version ("1.16.1", "v1.14.0") has PUT /serial
// with serial_out_path (1.14 and later).
bool version_has_serial_api(const std::string& version);

struct ApiResponse {
  long status = 0;
  std::string body;
  // The error's text: fault_message from a JSON body, else the raw body.
  std::string fault_message() const;
};

// HTTP/1.1 over a Unix socket, one connection kept alive across requests.
class ApiClient {
 public:
  ApiClient(fs::path socket, std::chrono::milliseconds request_timeout);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Sends the request. Transport errors (no connection, timeout) throw
  // Exit::failed naming the request and the socket; any HTTP status is
  // returned.
  ApiResponse send(const ApiRequest& r);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmu::vmm
