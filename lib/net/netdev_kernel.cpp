#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "net/netdev.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu {

namespace {

constexpr short kTapFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

Error net_error(std::string_view doing, int err) {
  if (err == EPERM || err == EACCES)
    return Error(Exit::failed, "no_cap_net_admin",
                 fmt::format("{}: permission denied: this needs CAP_NET_ADMIN (run as root, or "
                             "grant it: setcap cap_net_admin+ep $(command -v vmnet-alloc))",
                             doing));
  return sys_error(doing, err);
}

ifreq make_ifreq(const std::string& name) {
  // Checked here too, whatever the caller checked: a name with '%d' would be
  // expanded by the kernel into a device nobody asked for.
  if (!valid_ifname(name))
    throw Error(Exit::usage, "bad_name",
                fmt::format("'{}' is not a valid interface name (1-15 bytes, no '/', ':', '%', "
                            "whitespace or control characters, not '.' or '..')",
                            name));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), std::min(name.size(), std::size_t{IFNAMSIZ - 1}));
  return ifr;
}

Fd control_socket() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw sys_error("opening a control socket", errno);
  return s;
}

Fd open_tun(const std::string& name) {
  Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT)
      throw Error(Exit::failed, "no_tun",
                  fmt::format("creating TAP '{}': /dev/net/tun is missing (modprobe tun)", name));
    throw net_error(fmt::format("creating TAP '{}': opening /dev/net/tun", name), err);
  }
  return fd;
}

class KernelNetDevices final : public NetDevices {
 public:
  bool exists(const std::string& name) override {
    Fd s = control_socket();
    ifreq ifr = make_ifreq(name);
    return ::ioctl(s.get(), SIOCGIFINDEX, &ifr) == 0;
  }

  void create_tap(const std::string& name, std::optional<uid_t> owner) override {
    Fd fd = open_tun(name);
    ifreq ifr = make_ifreq(name);
    ifr.ifr_flags = kTapFlags;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0)
      throw net_error(fmt::format("creating TAP '{}'", name), errno);
    // From here the device exists; undo it if the rest fails.
    auto undo = [&] { ::ioctl(fd.get(), TUNSETPERSIST, 0); };
    if (owner && ::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(*owner)) != 0) {
      int err = errno;
      undo();
      throw net_error(fmt::format("setting the owner of TAP '{}' to uid {}", name, *owner), err);
    }
    if (::ioctl(fd.get(), TUNSETPERSIST, 1) != 0) {
      int err = errno;
      undo();
      throw net_error(fmt::format("making TAP '{}' persistent", name), err);
    }
  }

  void delete_tap(const std::string& name) override {
    if (!exists(name)) return;
    Fd fd = open_tun(name);
    ifreq ifr = make_ifreq(name);
    ifr.ifr_flags = kTapFlags;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
      int err = errno;
      if (err == EBUSY)
        throw Error(Exit::failed, "tap_busy",
                    fmt::format("deleting TAP '{}': it is open by a running VMM (stop the VM "
                                "first)",
                                name));
      throw net_error(fmt::format("deleting TAP '{}'", name), err);
    }
    if (::ioctl(fd.get(), TUNSETPERSIST, 0) != 0)
      throw net_error(fmt::format("deleting TAP '{}'", name), errno);
  }

  void create_bridge(const std::string& name) override {
    Fd s = control_socket();
    if (::ioctl(s.get(), SIOCBRADDBR, name.c_str()) != 0)
      throw net_error(fmt::format("creating bridge '{}'", name), errno);
  }

  void delete_bridge(const std::string& name) override {
    Fd s = control_socket();
    if (::ioctl(s.get(), SIOCBRDELBR, name.c_str()) != 0 && errno != ENXIO)
      throw net_error(fmt::format("deleting bridge '{}'", name), errno);
  }

  void set_address(const std::string& name, Ipv4 addr, int prefix) override {
    Fd s = control_socket();
    auto set = [&](unsigned long req, std::uint32_t v, const char* what) {
      ifreq ifr = make_ifreq(name);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl(v);
      std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
      if (::ioctl(s.get(), req, &ifr) != 0)
        throw net_error(fmt::format("setting the {} of '{}'", what, name), errno);
    };
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    set(SIOCSIFADDR, addr.value, "address");
    set(SIOCSIFNETMASK, mask, "netmask");
  }

  void set_up(const std::string& name) override {
    Fd s = control_socket();
    ifreq ifr = make_ifreq(name);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0)
      throw net_error(fmt::format("reading the flags of '{}'", name), errno);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)
      throw net_error(fmt::format("bringing '{}' up", name), errno);
  }

  void attach(const std::string& port, const std::string& bridge) override {
    Fd s = control_socket();
    ifreq idx = make_ifreq(port);
    if (::ioctl(s.get(), SIOCGIFINDEX, &idx) != 0)
      throw net_error(fmt::format("looking up '{}'", port), errno);
    ifreq ifr = make_ifreq(bridge);
    ifr.ifr_ifindex = idx.ifr_ifindex;
    if (::ioctl(s.get(), SIOCBRADDIF, &ifr) != 0) {
      int err = errno;
      if (err == EOPNOTSUPP || err == EINVAL)
        throw Error(
            Exit::failed, "not_a_bridge",
            fmt::format("attaching '{}' to '{}': '{}' is not a bridge", port, bridge, bridge));
      throw net_error(fmt::format("attaching '{}' to bridge '{}'", port, bridge), err);
    }
  }
};

}  // namespace

std::unique_ptr<NetDevices> make_kernel_netdevices() {
  return std::make_unique<KernelNetDevices>();
}

}  // namespace vmu
