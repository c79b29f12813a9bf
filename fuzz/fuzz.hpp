// Shared by the fuzz targets: the libFuzzer entry point, and the bytes as a
// file when the code under test reads files (a memfd: no disk I/O).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu::fuzz {

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input as a regular file, named /proc/self/fd/N while it lives.
class MemFile {
 public:
  explicit MemFile(std::string_view contents) : fd_(::memfd_create("vmu-fuzz", MFD_CLOEXEC)) {
    for (std::size_t off = 0; off < contents.size();) {
      const ssize_t n = ::write(fd_.get(), contents.data() + off, contents.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

 private:
  Fd fd_;
};

}  // namespace vmu::fuzz

// Each target defines this; errors a parser reports (vmu::Error) are the
// expected outcome of bad input, anything else escaping is a finding.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
