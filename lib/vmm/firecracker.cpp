#include "vmm/firecracker.hpp"

#include <curl/curl.h>

#include <fmt/format.h>

#include <mutex>

#include "util/error.hpp"

namespace vmu::vmm {

std::vector<std::string> firecracker_argv(const fs::path& binary, const fs::path& api_socket,
                                          const std::string& id, const fs::path& vmm_log) {
  return {binary.string(), "--api-sock",     api_socket.string(), "--id", id,
          "--log-path",    vmm_log.string(), "--level",           "Info"};
}

std::vector<ApiRequest> firecracker_requests(const VmSpec& spec, const fs::path& console_log,
                                             bool serial_api) {
  std::vector<ApiRequest> out;
  out.push_back({"PUT", "/machine-config",
                 Json{{"vcpu_count", spec.vcpus}, {"mem_size_mib", spec.mem_mib}, {"smt", false}}});
  Json boot = {{"kernel_image_path", spec.kernel.string()}, {"boot_args", spec.boot_args}};
  if (spec.initrd) boot["initrd_path"] = spec.initrd->string();
  out.push_back({"PUT", "/boot-source", std::move(boot)});
  out.push_back({"PUT", "/drives/rootfs",
                 Json{{"drive_id", "rootfs"},
                      {"path_on_host", spec.rootfs.string()},
                      {"is_root_device", true},
                      {"is_read_only", false}}});
  if (spec.nic) {
    Json nic = {{"iface_id", "eth0"}, {"host_dev_name", spec.nic->tap}};
    if (!spec.nic->mac.empty()) nic["guest_mac"] = spec.nic->mac;
    out.push_back({"PUT", "/network-interfaces/eth0", std::move(nic)});
  }
  if (serial_api)
    out.push_back({"PUT", "/serial", Json{{"serial_out_path", console_log.string()}}});
  out.push_back({"PUT", "/actions", Json{{"action_type", "InstanceStart"}}});
  return out;
}

bool version_has_serial_api(const std::string& version) {
  std::string v = version;
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.erase(0, 1);
  unsigned major = 0, minor = 0;
  if (std::sscanf(v.c_str(), "%u.%u", &major, &minor) != 2) return false;
  return major > 1 || (major == 1 && minor >= 14);
}

std::string ApiResponse::fault_message() const {
  try {
    auto j = Json::parse(body);
    if (j.is_object() && j.contains("fault_message") && j["fault_message"].is_string())
      return j["fault_message"].get<std::string>();
  } catch (const Json::exception&) {
  }
  return body.empty() ? std::string("(no message)") : body;
}

namespace {

std::once_flag g_curl_once;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() > (1u << 20)) return 0;  // an API answer is small; refuse a flood
  s->append(data, size * n);
  return size * n;
}

}  // namespace

struct ApiClient::Impl {
  fs::path socket;
  long timeout_ms = 0;
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
};

ApiClient::ApiClient(fs::path socket, std::chrono::milliseconds request_timeout)
    : impl_(std::make_unique<Impl>()) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->socket = std::move(socket);
  impl_->timeout_ms = static_cast<long>(request_timeout.count());
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw Error(Exit::failed, "initialising libcurl failed");
  impl_->headers = curl_slist_append(impl_->headers, "Content-Type: application/json");
  impl_->headers = curl_slist_append(impl_->headers, "Accept: application/json");
  impl_->headers = curl_slist_append(impl_->headers, "Expect:");
}

ApiClient::~ApiClient() {
  if (impl_) {
    curl_slist_free_all(impl_->headers);
    if (impl_->curl) curl_easy_cleanup(impl_->curl);
  }
}

ApiResponse ApiClient::send(const ApiRequest& r) {
  CURL* c = impl_->curl;
  ApiResponse resp;
  const std::string body = r.body.is_null() ? std::string() : r.body.dump();
  const std::string url = "http://localhost" + r.path;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, impl_->socket.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, impl_->headers);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, impl_->timeout_ms);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  if (!r.body.is_null()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (r.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    throw Error(Exit::failed, "vmm_api_error",
                fmt::format("{} on Firecracker's API socket '{}': {}", r.name(),
                            impl_->socket.string(), errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace vmu::vmm
