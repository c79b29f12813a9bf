#include "evidence/staging.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace vmu::evidence {

namespace {

constexpr std::size_t kChunk = 1u << 16;

la_ssize_t tar_write(struct archive*, void* user, const void* buf, size_t n) {
  auto* o = static_cast<TarOut*>(user);
  const std::string_view data(static_cast<const char*>(buf), n);
  std::string_view rest = data;
  while (!rest.empty()) {
    const ssize_t w = ::write(o->fd, rest.data(), rest.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      o->err = errno;
      return -1;
    }
    rest.remove_prefix(static_cast<std::size_t>(w));
  }
  o->hash.update(data);
  o->size += n;
  return static_cast<la_ssize_t>(n);
}

}  // namespace

Staging::Staging(const fs::path& out_dir, std::vector<RedactRule> rules)
    : rules_(std::move(rules)) {
  std::string tmpl = (out_dir / (std::string(kStagePrefix) + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw sys_error(fmt::format("creating a staging folder in '{}'", out_dir.string()), errno);
  dir_ = tmpl;
}

Staging::~Staging() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Staging::Writer::Writer(Staging& s, std::string name, std::string source, std::uint64_t limit)
    : s_(s), redactor_(s.rules_), limit_(limit) {
  m_.name = std::move(name);
  m_.source = std::move(source);
  path_ = s.dir_ / fmt::format("{:03}", s.members_.size() + s.open_++);
  fd_ = Fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd_) throw sys_error(fmt::format("creating '{}'", path_.string()), errno);
}

bool Staging::Writer::write(std::string_view in) {
  if (in_ + in.size() > limit_) {
    in = in.substr(0, static_cast<std::size_t>(limit_ - in_));
    m_.truncated = true;
  }
  in_ += in.size();
  out_.clear();
  redactor_.feed(in, out_);
  emit();
  return !m_.truncated;
}
Member Staging::Writer::close() {
  out_.clear();
  redactor_.finish(out_);
  emit();
  if (m_.truncated) {
    out_ =
        fmt::format("\n[vmutils: truncated here: the source is over the {} byte limit]\n", limit_);
    emit();
  }
  fd_.reset();
  m_.sha256 = hash_.hex();
  s_.replacements_ += redactor_.replaced();
  --s_.open_;
  s_.members_.push_back({m_, path_});
  return m_;
}

void Staging::Writer::emit() {
  if (out_.empty()) return;
  write_all(fd_.get(), out_, path_);
  hash_.update(out_);
  m_.size += out_.size();
}

Member Staging::add_text(const std::string& name, const std::string& source,
                         std::string_view text) {
  Writer w(*this, name, source, UINT64_MAX);
  w.write(text);
  return w.close();
}

std::optional<std::string> copy_host_file(Staging& st, const std::string& name, const fs::path& p,
                                          std::uint64_t limit,
                                          const std::function<void(std::string_view)>& also,
                                          std::vector<Member>& members) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return fmt::format("cannot open '{}': {}", p.string(), std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd.get(), &sb) != 0) return fmt::format("cannot stat '{}'", p.string());
  if (!S_ISREG(sb.st_mode)) return fmt::format("'{}' is not a regular file", p.string());
  const auto size = static_cast<std::uint64_t>(sb.st_size);
  Staging::Writer w(st, name, p.string(), limit);
  std::string buf(kChunk, '\0');
  std::uint64_t done = 0;
  while (done < size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - done));
    const ssize_t n = ::read(fd.get(), buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error(fmt::format("reading '{}'", p.string()), errno);
    if (n == 0) break;  // truncated under us: what was there
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    done += chunk.size();
    if (also) also(chunk);
    if (!w.write(chunk)) break;
  }
  members.push_back(w.close());
  return std::nullopt;
}

void remove_stale(const fs::path& dir) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (!n.starts_with(kStagePrefix) && !n.starts_with(kTempPrefix)) continue;
    std::error_code ec2;
    const auto t = fs::last_write_time(e.path(), ec2);
    if (!ec2 && now - t > std::chrono::hours(1)) fs::remove_all(e.path(), ec2);
  }
}

void write_tar(const std::vector<std::pair<std::string, fs::path>>& entries, TarOut& out) {
  struct archive* a = archive_write_new();
  if (!a) throw Error(Exit::failed, "libarchive: out of memory");
  struct Guard {
    struct archive* a;
    ~Guard() { archive_write_free(a); }
  } guard{a};
  auto check = [&](int rc, const std::string& doing) {
    if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) return;
    if (out.err)
      throw sys_error(out.err == ENOSPC || out.err == EDQUOT ? Exit::exhausted : Exit::failed,
                      fmt::format("writing archive '{}'", out.path.string()), out.err);
    throw Error(Exit::failed, fmt::format("{} of '{}': {}", doing, out.path.string(),
                                          archive_error_string(a) ? archive_error_string(a) : "?"));
  };
  check(archive_write_add_filter_gzip(a), "setting up gzip");
  check(archive_write_set_format_pax_restricted(a), "setting up tar");
  check(archive_write_open(a, &out, nullptr, tar_write, nullptr), "opening");
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::string buf(kChunk, '\0');
  for (const auto& [name, path] : entries) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw sys_error(fmt::format("reading staged '{}'", path.string()), errno);
    struct stat sb {};
    ::fstat(fd.get(), &sb);
    struct archive_entry* e = archive_entry_new();
    struct EntryGuard {
      struct archive_entry* e;
      ~EntryGuard() { archive_entry_free(e); }
    } eg{e};
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, sb.st_size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, now, 0);
    check(archive_write_header(a, e), "writing a header");
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sys_error(fmt::format("reading staged '{}'", path.string()), errno);
      if (n == 0) break;
      if (archive_write_data(a, buf.data(), static_cast<std::size_t>(n)) < 0)
        check(ARCHIVE_FATAL, "writing data");
    }
  }
  check(archive_write_close(a), "finishing");
}

}  // namespace vmu::evidence
