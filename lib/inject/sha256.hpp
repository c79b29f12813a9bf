// Streaming SHA-256 (OpenSSL libcrypto EVP).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace vmu::inject {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // Lower-case hex; the object cannot be updated afterwards.
  std::string hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);

}  // namespace vmu::inject
