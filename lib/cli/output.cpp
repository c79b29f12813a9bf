#include "cli/output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>

#include "util/error.hpp"

namespace vmu::cli {

RecordOutput::RecordOutput(int fd) : fd_(fd) {
  struct stat st {};
  pipe_ = ::fstat(fd_, &st) == 0 && S_ISFIFO(st.st_mode);
  if (pipe_) {
    const int cap = ::fcntl(fd_, F_GETPIPE_SZ);
    window_ = cap > 0 ? static_cast<std::size_t>(cap) : 1u << 20;
  }
}

bool RecordOutput::write(std::string_view line, const std::string& id) {
  std::string out;
  out.reserve(line.size() + 1);
  out.append(line);
  out.push_back('\n');
  std::lock_guard lock(mu_);
  if (closed_) return false;
  std::string_view rest(out);
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        closed_ = true;
        refused_ = id;
        return false;
      }
      throw sys_error("writing records to standard output", errno);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (pipe_) {
    recent_.emplace_back(id, out.size());
    recent_bytes_ += out.size();
    while (recent_.size() > 1 && recent_bytes_ - recent_.front().second >= window_) {
      recent_bytes_ -= recent_.front().second;
      recent_.pop_front();
    }
  }
  return true;
}

bool RecordOutput::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool RecordOutput::reader_gone() {
  std::lock_guard lock(mu_);
  if (closed_) return true;
  if (!pipe_) return false;
  pollfd p{fd_, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

std::vector<std::string> RecordOutput::unreceived() {
  const bool gone = reader_gone();
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (!gone) return out;
  int unread = 0;
  if (pipe_ && ::ioctl(fd_, FIONREAD, &unread) == 0 && unread > 0) {
    std::size_t sum = 0;
    auto it = recent_.rbegin();
    for (; it != recent_.rend() && sum < static_cast<std::size_t>(unread); ++it) sum += it->second;
    for (auto f = it.base(); f != recent_.end(); ++f) out.push_back(f->first);
  }
  if (!refused_.empty()) out.push_back(refused_);
  return out;
}

}  // namespace vmu::cli
