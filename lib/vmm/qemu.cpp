#include "vmm/qemu.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu::vmm {

namespace {

// QEMU's option syntax doubles a comma inside a value.
std::string qemu_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

std::vector<std::string> qemu_argv(const VmSpec& spec, const QemuOptions& o) {
  std::vector<std::string> a = {o.binary.string(),
                                "-name",
                                spec.id,
                                "-M",
                                "microvm,acpi=on",
                                "-accel",
                                std::string(to_string(o.accel)),
                                "-cpu",
                                o.accel == Accel::kvm ? "host" : "max",
                                "-m",
                                fmt::format("{}M", spec.mem_mib),
                                "-smp",
                                std::to_string(spec.vcpus),
                                "-nodefaults",
                                "-no-user-config",
                                "-nographic",
                                "-no-reboot",
                                "-kernel",
                                spec.kernel.string()};
  if (spec.initrd) {
    a.emplace_back("-initrd");
    a.push_back(spec.initrd->string());
  }
  a.emplace_back("-append");
  a.push_back(spec.boot_args);
  a.emplace_back("-drive");
  a.push_back(
      fmt::format("id=rootfs,file={},format=raw,if=none", qemu_escape(spec.rootfs.string())));
  a.emplace_back("-device");
  a.emplace_back("virtio-blk-device,drive=rootfs");
  if (spec.nic) {
    a.emplace_back("-netdev");
    a.push_back(fmt::format("tap,id=net0,ifname={},script=no,downscript=no,vnet_hdr=on",
                            qemu_escape(spec.nic->tap)));
    a.emplace_back("-device");
    std::string dev = "virtio-net-device,netdev=net0";
    if (!spec.nic->mac.empty()) dev += ",mac=" + spec.nic->mac;
    a.push_back(dev);
  }
  a.emplace_back("-chardev");
  a.push_back(
      fmt::format("file,id=console,path={},append=on", qemu_escape(o.console_log.string())));
  a.emplace_back("-serial");
  a.emplace_back("chardev:console");
  a.emplace_back("-qmp");
  a.push_back(fmt::format("unix:{},server=on,wait=off", qemu_escape(o.qmp_socket.string())));
  return a;
}

namespace {

using Clock = std::chrono::steady_clock;

class QmpConn {
 public:
  QmpConn(const fs::path& socket, std::chrono::milliseconds deadline)
      : path_(socket), end_(Clock::now() + deadline) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket.native().size() >= sizeof(addr.sun_path))
      throw Error(Exit::failed, fmt::format("QMP socket path '{}' is too long", socket.string()));
    std::memcpy(addr.sun_path, socket.c_str(), socket.native().size() + 1);
    // QEMU binds the socket before it listens: a refused connection is
    // retried (briefly, within the deadline) until it listens.
    for (;;) {
      fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd_) throw sys_error("creating a socket for QMP", errno);
      if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) break;
      const int err = errno;
      if ((err != ECONNREFUSED && err != ENOENT) || Clock::now() >= end_)
        throw sys_error(fmt::format("connecting to QEMU's QMP socket '{}'", socket.string()), err);
      ::usleep(2000);
    }
    auto greeting = read_message();
    if (!greeting.contains("QMP"))
      throw Error(Exit::failed,
                  fmt::format("'{}' does not speak QMP: {}", socket.string(), greeting.dump()));
    execute("qmp_capabilities");
  }

  Json execute(const std::string& command) {
    const std::string line = Json{{"execute", command}}.dump() + "\n";
    if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(line.size()))
      throw sys_error(fmt::format("sending '{}' to QMP '{}'", command, path_.string()), errno);
    for (;;) {
      Json m = read_message();
      if (m.contains("event")) continue;
      if (m.contains("error"))
        throw Error(Exit::failed, fmt::format("QMP '{}' failed: {}", command,
                                              m["error"].value("desc", m["error"].dump())));
      if (m.contains("return")) return m["return"];
    }
  }

 private:
  Json read_message() {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        try {
          return Json::parse(line);
        } catch (const Json::exception&) {
          throw Error(Exit::failed, fmt::format("QMP '{}' sent something that is not JSON: {}",
                                                path_.string(), line.substr(0, 200)));
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now());
      if (left.count() <= 0)
        throw Error(Exit::failed, fmt::format("QMP '{}' did not answer in time", path_.string()));
      pollfd p{fd_.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) throw sys_error("waiting for QMP", errno);
      if (r <= 0) continue;
      char tmp[4096];
      ssize_t n = ::read(fd_.get(), tmp, sizeof(tmp));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sys_error(fmt::format("reading QMP '{}'", path_.string()), errno);
      if (n == 0)
        throw Error(Exit::failed,
                    fmt::format("QEMU closed its QMP socket '{}' (it is exiting)", path_.string()));
      buf_.append(tmp, static_cast<std::size_t>(n));
      if (buf_.size() > (1u << 20)) throw Error(Exit::failed, "QMP message too long");
    }
  }

  fs::path path_;
  Clock::time_point end_;
  Fd fd_;
  std::string buf_;
};

}  // namespace

std::string qmp_status(const fs::path& socket, std::chrono::milliseconds deadline) {
  QmpConn c(socket, deadline);
  Json r = c.execute("query-status");
  return r.value("status", std::string("unknown"));
}

std::string qmp_execute(const fs::path& socket, const std::string& command,
                        std::chrono::milliseconds deadline) {
  QmpConn c(socket, deadline);
  return c.execute(command).dump();
}

}  // namespace vmu::vmm
