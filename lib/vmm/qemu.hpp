// The QEMU backend: the VM description as a `qemu-system-x86_64 -M microvm`
// command line, and QMP, its control socket.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "vmm/config.hpp"

namespace vmu::vmm {

struct QemuOptions {
  fs::path binary = "qemu-system-x86_64";
  Accel accel = Accel::tcg;
  fs::path console_log;  // the serial console (a chardev file, append=on)
  fs::path qmp_socket;
};

// -M microvm,acpi=on (Debian-style kernels find the virtio-mmio devices
// through ACPI), -nodefaults -no-user-config -nographic -no-reboot, -accel
// kvm -cpu host or -accel tcg -cpu max, virtio-blk-device for the rootfs,
// virtio-net-device on the TAP with vnet_hdr=on and the record's MAC, the
// serial port into the console file, a QMP socket.
std::vector<std::string> qemu_argv(const VmSpec& spec, const QemuOptions& o);

// Connects to a QMP socket, negotiates capabilities and returns
// query-status's "status" ("running", "paused", ...). Throws Exit::failed
// when QEMU closes the connection, answers an error, or `deadline` passes.
std::string qmp_status(const fs::path& socket, std::chrono::milliseconds deadline);

// Sends one QMP command (after the handshake) and returns its "return"
// value as JSON text. Same errors as qmp_status.
std::string qmp_execute(const fs::path& socket, const std::string& command,
                        std::chrono::milliseconds deadline);

}  // namespace vmu::vmm
