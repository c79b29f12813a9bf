// Following many growing files (serial console logs) with one inotify
// descriptor: IN_MODIFY on each file that exists, and a watch on the
// folder of each that does not yet (IN_CREATE / IN_MOVED_TO), so a log that
// appears late is picked up. A file that shrinks (truncated) is read again
// from its start; one renamed away (a relaunch keeps the old log as *.1)
// is read to its end, then the new file under the name is followed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "util/fd.hpp"

namespace vmu::wait {

class FileFollower {
 public:
  using Id = std::uint64_t;
  FileFollower();

  // The inotify descriptor: readable when a followed file may have grown.
  int fd() const { return ino_.get(); }

  void add(Id id, const std::filesystem::path& path);
  void remove(Id id);

  // Drains inotify's queue; the files it names become "dirty".
  void on_readable();
  // Files that may have new bytes (dirty, or not read to their end yet);
  // cleared by read().
  std::set<Id> dirty() const { return dirty_; }
  bool any_dirty() const { return !dirty_.empty(); }

  struct Chunk {
    std::size_t bytes = 0;
    bool truncated = false;  // the file shrank: the caller starts its analysis input over
    bool missing = false;    // not there (yet)
  };
  // Appends up to `max` new bytes of file `id` to `out`. The file stays
  // dirty while more is left.
  Chunk read(Id id, std::string& out, std::size_t max);
  // Reads everything left (the writer is gone), up to `max`.
  Chunk drain(Id id, std::string& out, std::size_t max);

 private:
  struct File {
    std::filesystem::path path;
    Fd fd;
    std::uint64_t offset = 0;
    int wd = -1;         // on the file
    bool moved = false;  // renamed away: read to its end, then reopen by name
  };
  void open_file(Id id, File& f);
  void watch_dir(const std::filesystem::path& dir);

  Fd ino_;
  std::map<Id, File> files_;
  std::map<int, Id> by_wd_;                    // file watches
  std::map<int, std::filesystem::path> dirs_;  // folder watches
  std::set<Id> dirty_;
};

}  // namespace vmu::wait
