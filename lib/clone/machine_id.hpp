// A per-clone /etc/machine-id. Clones that share one get the same DHCP lease
// (systemd-networkd derives its DHCP client id from it) and the same journal
// identity; each clone gets one derived from its VM id, so re-cloning a VM
// gives it the same one again.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vmu {

// The first 32 hex digits of SHA-256("vmutils-machine-id:" + vm_id).
std::string derive_machine_id(std::string_view vm_id);

// Writes "<machine_id>\n" as /etc/machine-id of the unmounted ext2/3/4 image
// `image`, through libext2fs. An existing file (or the file a symlink there
// points to, resolved inside the image) is rewritten in place, keeping its
// mode and owner; a missing one is created with mode 0444, root:root.
// Errors: no /etc, or /etc/machine-id not a regular file: Exit::usage;
// image full: Exit::exhausted; libext2fs failures: Exit::failed with its
// reason. Messages about the image's layout name `shown_as` (the golden)
// when given. With `sync` (the default) the image is fsynced afterwards,
// as libext2fs always does; without it, every change has reached the file
// (pwrite, errors reported) when this returns, but nothing is fsynced.
void write_machine_id(const std::filesystem::path& image, std::string_view machine_id,
                      const std::filesystem::path& shown_as = {}, bool sync = true);

// Throws the Exit::usage errors of write_machine_id without writing: run on
// the golden (opened read-only) before copying it.
void check_machine_id_target(const std::filesystem::path& image);

// /etc/machine-id of the image, or "" when it has none (for tests and
// diagnostics).
std::string read_machine_id(const std::filesystem::path& image);

}  // namespace vmu
