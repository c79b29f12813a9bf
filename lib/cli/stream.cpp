#include "cli/stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vmu::cli {

RecordStream::RecordStream(Tool& tool, unsigned writers)
    : tool_(tool), state_(tool.state()), out_(STDOUT_FILENO), writers_(writers) {
  if (tool.has_ids()) {
    from_ids_ = true;
    for (const auto& id : tool.ids()) pending_.push_back(state_.load(id));
    return;
  }
  if (::isatty(STDIN_FILENO) == 1)
    throw Error(Exit::usage,
                fmt::format("no records: pipe records into {} (e.g. from fc-launch), or name a VM "
                            "with --id",
                            tool.name()));
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0) throw sys_error("examining standard input", errno);
  // Pipes and sockets are waited on with epoll; a regular file or a device
  // such as /dev/null (which epoll refuses) is read at once.
  pollable_ = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

int RecordStream::input_fd() const {
  return (!done_ && !from_ids_ && pollable_) ? STDIN_FILENO : -1;
}

RecordStream::~RecordStream() {
  try {
    close();
  } catch (...) {
    // Reported by the caller's close(); a destructor must not throw.
  }
}

void RecordStream::note(Exit code) {
  std::lock_guard lock(mu_);
  if (first_ == Exit::ok) first_ = code;
}

void RecordStream::take_line(std::string_view line, std::vector<Record>& out) {
  ++line_no_;
  std::size_t b = 0, e = line.size();
  while (b < e && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r')) ++b;
  while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r')) --e;
  if (b == e) return;
  std::optional<Record> rec;
  try {
    rec = Record::parse(line.substr(b, e - b));
  } catch (const Error& err) {
    tool_.log().error("standard input line {}: {}", line_no_, err.what());
    note(err.code());
    return;
  }
  if (rec->failed()) {
    // Failed upstream: passed on untouched, not saved again, no exit code.
    out_.write(rec->dump(), rec->id());
    return;
  }
  out.push_back(std::move(*rec));
}

std::vector<Record> RecordStream::read_available() {
  std::vector<Record> out;
  if (from_ids_) {
    done_ = true;
    for (auto& r : pending_) {
      if (r.failed()) {
        // Reported (who failed it, what to run); with --retry its error is
        // cleared and it is worked on again.
        const Exit c = tool_.take_failed_id(r);
        if (c != Exit::ok) {
          note(c);
          out_.write(r.dump(), r.id());  // passed on as it is, for the tools after
          continue;
        }
      }
      out.push_back(std::move(r));
    }
    pending_.clear();
    return out;
  }
  if (done_) return out;
  char chunk[65536];
  // A pipe: one read (epoll said it is readable). Anything else: to its end.
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) {
      if (Tool::interrupted()) return out;
      continue;
    }
    if (n < 0) throw sys_error("reading standard input", errno);
    if (n == 0) {
      if (!buf_.empty() && !skipping_) take_line(buf_, out);
      buf_.clear();
      done_ = true;
      return out;
    }
    std::string_view data(chunk, static_cast<std::size_t>(n));
    while (!data.empty()) {
      const auto nl = data.find('\n');
      const std::string_view piece = data.substr(0, nl);
      if (skipping_) {
        if (nl == std::string_view::npos) break;
        skipping_ = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (buf_.size() + piece.size() > kMaxLineBytes) {
        ++line_no_;
        tool_.log().error("standard input line {}: longer than {} bytes, skipped", line_no_,
                          kMaxLineBytes);
        note(Exit::usage);
        buf_.clear();
        if (nl == std::string_view::npos) {
          skipping_ = true;
          break;
        }
        data.remove_prefix(nl + 1);
        continue;
      }
      buf_.append(piece);
      if (nl == std::string_view::npos) break;
      take_line(buf_, out);
      buf_.clear();
      data.remove_prefix(nl + 1);
    }
    if (pollable_) return out;
  }
}

void RecordStream::write(Job& job) {
  try {
    state_.save(job.rec);
  } catch (const Error& e) {
    tool_.log().error("{}: saving the record: {}", job.rec.id(), e.what());
    note(e.code());
  }
  out_.write(job.rec.dump(), job.rec.id());  // a closed stdout is reported by close()
}

void RecordStream::finish(Record rec, const std::optional<RecordError>& failure) {
  if (failure) {
    rec.set_error(*failure);
    note(failure->code);
  }
  Job job{std::move(rec), failure};
  if (writers_ == 0) {
    write(job);
    return;
  }
  std::unique_lock lock(mu_);
  if (writer_error_) std::rethrow_exception(writer_error_);
  queue_.push_back(std::move(job));
  if (threads_.size() < writers_) {  // one more writer per record, up to the limit
    threads_.emplace_back([this] {
      for (;;) {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        Job j = std::move(queue_.front());
        queue_.pop_front();
        l.unlock();
        try {
          write(j);
        } catch (...) {
          std::lock_guard g(mu_);
          if (!writer_error_) writer_error_ = std::current_exception();
        }
      }
    });
  }
  lock.unlock();
  cv_.notify_one();
}

void RecordStream::close(const std::vector<std::string>& not_worked) {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  {
    std::lock_guard lock(mu_);
    if (writer_error_) {
      auto e = writer_error_;
      writer_error_ = nullptr;
      std::rethrow_exception(e);
    }
  }
  if (!reported_ && out_.reader_gone()) {
    reported_ = true;
    if (tool_.report_unreceived(out_.unreceived(), not_worked)) note(Exit::failed);
  }
}

int RecordStream::exit_code() const {
  std::lock_guard lock(mu_);
  if (first_ == Exit::ok && Tool::interrupted()) return static_cast<int>(Exit::interrupted);
  return static_cast<int>(first_);
}

}  // namespace vmu::cli
