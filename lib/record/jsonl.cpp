#include "record/jsonl.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"

namespace vmu {

bool LineReader::begin_drain() {
  if (drain_until_) return true;
  if (drain_.count() <= 0) {
    eof_ = cut_ = true;
    return false;
  }
  drain_until_ = std::chrono::steady_clock::now() + drain_;
  return true;
}

bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (!drain_until_ && stop_ && stop_() && !begin_drain()) return false;
  char chunk[65536];
  for (;;) {
    if (drain_until_) {
      using namespace std::chrono;
      const auto left = duration_cast<milliseconds>(*drain_until_ - steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      const int rc = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (rc == 0) {
        eof_ = cut_ = true;
        return false;
      }
      if (rc < 0 && errno == EINTR) continue;
    }
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) {
        if (stop_ && stop_() && !begin_drain()) return false;
        continue;
      }
      throw sys_error("reading records from standard input", errno);
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::optional<LineReader::Line> LineReader::next() {
  for (;;) {
    const auto nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      Line line;
      line.number = ++number_;
      if (nl - pos_ > max_) {
        line.too_long = true;
      } else {
        line.text.assign(buf_, pos_, nl - pos_);
      }
      pos_ = nl + 1;
      if (!line.too_long && line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
      return line;
    }
    if (buf_.size() - pos_ > max_) {
      // Too long already: drop what we have and skip to the next newline.
      Line line;
      line.number = ++number_;
      line.too_long = true;
      buf_.clear();
      pos_ = 0;
      for (;;) {
        if (!fill()) return line;
        const auto end = buf_.find('\n');
        if (end != std::string::npos) {
          pos_ = end + 1;
          return line;
        }
        buf_.clear();
      }
    }
    if (!fill()) {
      if (pos_ >= buf_.size()) return std::nullopt;
      Line line;
      line.number = ++number_;
      line.text.assign(buf_, pos_, std::string::npos);
      buf_.clear();
      pos_ = 0;
      if (line.text.find_first_not_of(" \t\r") == std::string::npos) return std::nullopt;
      return line;
    }
  }
}

bool LineWriter::write(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 1);
  out.append(line);
  out.push_back('\n');
  std::lock_guard lock(mu_);
  std::string_view rest(out);
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw sys_error("writing records to standard output", errno);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace vmu
