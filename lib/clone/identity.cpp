#include "clone/identity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "state/state.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"
#include "util/time.hpp"

namespace vmu {

namespace {

constexpr std::size_t kChunk = 4u << 20;
constexpr std::size_t kMaxSidecarBytes = 64u << 10;
// Longest wait for another clone that is hashing the same golden.
constexpr std::chrono::minutes kHashLockDeadline{10};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

MdCtx new_sha256() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw Error(Exit::failed, "initialising SHA-256 (OpenSSL EVP) failed");
  return ctx;
}

void update(EVP_MD_CTX* ctx, const void* data, std::size_t n) {
  if (EVP_DigestUpdate(ctx, data, n) != 1) throw Error(Exit::failed, "SHA-256 update failed");
}

std::string finish(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1) throw Error(Exit::failed, "SHA-256 final failed");
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

Json key_json(const FileKey& k) {
  return {{"dev", k.dev},
          {"ino", k.ino},
          {"size", k.size},
          {"mtime_ns", k.mtime_ns},
          {"ctime_ns", k.ctime_ns}};
}

// The digest in a sidecar, when the sidecar exists, parses and has our key.
// Anything else (missing, stale, damaged) is a miss: the golden is hashed.
std::optional<std::string> read_sidecar(const std::filesystem::path& p, const FileKey& key) {
  try {
    auto text = read_file_if_exists(p, kMaxSidecarBytes);
    if (!text) return std::nullopt;
    Json j = Json::parse(*text);
    if (!j.is_object() || j.value("v", 0) != 1 || j.value("key", Json()) != key_json(key))
      return std::nullopt;
    std::string sha = j.value("sha256", std::string());
    if (sha.size() != 64 || !std::all_of(sha.begin(), sha.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }))
      return std::nullopt;
    return sha;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

FileLock lock_with_stop(const std::filesystem::path& lock_path, const StopFn& stop) {
  const auto until = std::chrono::steady_clock::now() + kHashLockDeadline;
  std::minstd_rand rng(static_cast<unsigned>(::getpid()));
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    FileLock l = FileLock::try_acquire(lock_path, LockMode::exclusive);
    if (l) return l;
    throw_if_stopped(stop, fmt::format("waiting for the lock '{}'", lock_path.string()));
    if (std::chrono::steady_clock::now() >= until)
      throw Error(Exit::failed, "lock_timeout",
                  fmt::format("timed out waiting for '{}' (another clone has been hashing the "
                              "same golden for {} minutes)",
                              lock_path.string(), kHashLockDeadline.count()));
    std::this_thread::sleep_for(backoff + std::chrono::milliseconds(rng() % 5));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace

FileKey file_key(const struct stat& st) {
  auto ns = [](const struct timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim)};
}

std::string sha256_hex(std::string_view data) {
  MdCtx ctx = new_sha256();
  update(ctx.get(), data.data(), data.size());
  return finish(ctx.get());
}

std::string sha256_file(int fd, std::uint64_t size, const std::filesystem::path& shown_as,
                        const StopFn& stop, const ProgressFn& progress) {
  MdCtx ctx = new_sha256();
  std::vector<char> buf(kChunk);
  const std::vector<char> zeros(kChunk, '\0');
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  const std::string doing = fmt::format("hashing '{}'", shown_as.string());
  const std::string subject = shown_as.string();
  report(progress, "hashing the golden", subject, 0, size);
  std::uint64_t pos = 0;
  while (pos < size) {
    throw_if_stopped(stop, doing);
    report(progress, "hashing the golden", subject, pos, size);
    // Where the next data starts: the bytes before it are a hole (zeros)
    // that need hashing, not reading.
    std::uint64_t data = pos;
    off_t d = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (d >= 0)
      data = std::min<std::uint64_t>(static_cast<std::uint64_t>(d), size);
    else if (errno == ENXIO)
      data = size;
    while (pos < data) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, data - pos));
      update(ctx.get(), zeros.data(), n);
      pos += n;
      if ((pos & ((64u << 20) - 1)) == 0) throw_if_stopped(stop, doing);
    }
    if (pos >= size) break;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - pos));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error(fmt::format("reading '{}'", shown_as.string()), errno);
    }
    if (n == 0)
      throw Error(Exit::failed, "golden_modified",
                  fmt::format("'{}' became shorter while it was hashed", shown_as.string()));
    update(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    pos += static_cast<std::uint64_t>(n);
  }
  report(progress, "hashing the golden", subject, size, size);
  return finish(ctx.get());
}

std::filesystem::path cache_beside(const std::filesystem::path& golden) {
  return golden.parent_path() / (golden.filename().string() + ".vmutils-id.json");
}

std::filesystem::path cache_in(const std::filesystem::path& cache_dir,
                               const std::filesystem::path& golden) {
  // Goldens of the same name in different folders get different sidecars.
  return cache_dir / fmt::format("{}.{}.vmutils-id.json", golden.filename().string(),
                                 sha256_hex(golden.string()).substr(0, 16));
}

Digest golden_digest(int fd, const std::filesystem::path& golden, const FileKey& key,
                     const std::filesystem::path& cache_dir, const StopFn& stop,
                     const ProgressFn& progress) {
  const std::filesystem::path beside = cache_beside(golden);
  const std::filesystem::path in_state = cache_in(cache_dir, golden);
  auto lookup = [&]() -> std::optional<Digest> {
    for (const auto& p : {beside, in_state})
      if (auto sha = read_sidecar(p, key)) return Digest{*sha, true, p, 0};
    return std::nullopt;
  };
  if (auto d = lookup()) return *d;

  // One hasher per golden; the others wait here and then find its sidecar.
  make_dirs(cache_dir, kStateDirMode);
  const FileLock lock =
      lock_with_stop(std::filesystem::path(in_state).replace_extension(".lock"), stop);
  if (auto d = lookup()) return *d;

  const auto start = std::chrono::steady_clock::now();
  Digest out;
  out.sha256 = sha256_file(fd, key.size, golden, stop, progress);
  out.hash_ms = ms_since(start);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error(fmt::format("stat '{}'", golden.string()), errno);
  if (file_key(st) != key)
    throw Error(Exit::failed, "golden_modified",
                fmt::format("'{}' was modified while it was being hashed; retry once nothing "
                            "writes to the golden",
                            golden.string()));

  Json j = {{"v", 1},
            {"golden", golden.string()},
            {"key", key_json(key)},
            {"sha256", out.sha256},
            {"hashed", now_rfc3339()}};
  const std::string text = j.dump(2) + "\n";
  // Beside the golden when its folder lets us, so every state folder and
  // every host sharing the golden's folder profits; else in our cache.
  if (::access(golden.parent_path().c_str(), W_OK) == 0) {
    try {
      write_file_atomic(beside, text, 0644);
      out.cache_path = beside;
      return out;
    } catch (const Error&) {
      // e.g. EACCES through an ACL or a read-only bind mount: use ours.
    }
  }
  try {
    write_file_atomic(in_state, text, 0644);
    out.cache_path = in_state;
  } catch (const Error&) {
    // Only an optimisation: the clone goes on; the next one hashes again.
  }
  return out;
}

}  // namespace vmu
