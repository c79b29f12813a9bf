// A small etcd v3 client: the JSON gateway's /v3/kv/range and /v3/kv/txn
// over HTTP with libcurl. libcurl is loaded (dlopen) when the first client is
// made, so tools using the host store do not pay its start-up (~30 shared
// libraries, several milliseconds per process).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmu {

// etcd://HOST:PORT[,HOST:PORT...]/PREFIX. Throws Exit::usage quoting it.
struct EtcdUrl {
  std::vector<std::string> endpoints;  // "HOST:PORT", in the order given
  std::string prefix;                  // "/PREFIX", no trailing '/'
  static EtcdUrl parse(std::string_view url);
};

struct EtcdKv {
  std::string key;
  std::string value;  // empty with keys_only
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
};

std::string base64_encode(std::string_view in);
// Throws Exit::failed on malformed input (it comes from the server).
std::string base64_decode(std::string_view in);
// The end of the range of every key starting with `prefix`.
std::string prefix_end(std::string_view prefix);

class EtcdClient {
 public:
  // `deadline` bounds each HTTP request; a request that fails on one
  // endpoint (refused, timed out, no leader) is sent to the next, in order,
  // and the whole list is retried until `patience` has passed.
  EtcdClient(std::vector<std::string> endpoints,
             std::chrono::milliseconds deadline = std::chrono::milliseconds(2000),
             std::chrono::milliseconds patience = std::chrono::milliseconds(8000));
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  struct Range {
    std::vector<EtcdKv> kvs;
    bool more = false;
    std::int64_t revision = 0;  // of the store when read
  };
  // Keys in [key, end) (just `key` when `end` is empty), in key order.
  // `revision` 0 reads the latest; another reads the store as it was then.
  Range range(std::string_view key, std::string_view end = {}, std::int64_t limit = 0,
              bool keys_only = false, std::int64_t revision = 0);

  // One transaction. Build its parts with the helpers below.
  struct TxnResult {
    bool succeeded = false;
    std::int64_t revision = 0;  // of the store after it
    std::vector<Range> ranges;  // the answers to the branch's ranges, in order
  };
  TxnResult txn(const nlohmann::json& compare, const nlohmann::json& success,
                const nlohmann::json& failure);

  static nlohmann::json created_is(std::string_view key, std::int64_t rev);
  static nlohmann::json modified_is(std::string_view key, std::int64_t rev);
  static nlohmann::json put(std::string_view key, std::string_view value);
  static nlohmann::json del(std::string_view key);
  static nlohmann::json get(std::string_view key);

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  nlohmann::json post(const char* path, const nlohmann::json& body);

  struct Curl;
  std::unique_ptr<Curl> curl_;
  std::vector<std::string> endpoints_;
  std::size_t current_ = 0;  // the endpoint that answered last
  std::chrono::milliseconds deadline_;
  std::chrono::milliseconds patience_;
};

}  // namespace vmu
