// The image lock: an exclusive flock on the image file itself. Every vmutils
// writer of an image (rootfs-clone, agent-inject) takes it, and fc-launch
// hands it to the VMM so it is held for the VM's whole life: an image whose
// lock is held is "in use by a running VM".
#pragma once

#include <filesystem>
#include <string_view>

#include "util/lock.hpp"

namespace vmu {

enum class ImageAccess { read_only, read_write };

// Opens `image` and takes its lock without waiting. Throws Exit::usage
// ("image_in_use") when another process holds it, naming the image and
// `purpose` ("injecting into"); Exit::usage when the file does not exist.
FileLock lock_image(const std::filesystem::path& image, ImageAccess access,
                    std::string_view purpose);

// True when some process holds the image's lock (e.g. a running VM).
bool image_in_use(const std::filesystem::path& image);

}  // namespace vmu
