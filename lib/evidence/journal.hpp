// The guest's journal, read from its image without booting or mounting it:
// the journal files are copied out through libext2fs into a private
// folder and read with libsystemd's sd-journal API, then written as text
// (one line per entry) and in the journal export format, byte for byte
// what `journalctl -o export` writes (text fields "NAME=value\n"; a value
// that is not printable UTF-8 or holds a newline as "NAME\n", its length
// as 64-bit little endian, the bytes, "\n"; a blank line after each entry).
// systemd-journal-remote turns an export back into a journal file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ext4/image.hpp"

namespace vmu::evidence {

namespace fs = std::filesystem;

inline constexpr std::string_view kJournalDir = "/var/log/journal";

struct JournalEntry {
  std::string cursor;
  std::uint64_t realtime_us = 0;
  std::uint64_t monotonic_us = 0;
  std::string boot_id;                                      // 32 hex digits
  std::vector<std::pair<std::string, std::string>> fields;  // NAME, value (in entry order)
  // The value of a field, "" when absent.
  std::string get(std::string_view name) const;
};

// True when `value` goes into an export as text: valid, printable UTF-8
// (tab allowed) without a newline.
bool export_as_text(std::string_view value);
// One entry in the export format, with its closing blank line. _BOOT_ID
// comes from the header and is not repeated from the fields, as journalctl does.
std::string export_entry(const JournalEntry& e);
// "2026-12-02T07:21:43.123456Z host ident[pid]: message\n"; continuation
// lines of a message are indented; a value that is not text reads
// "[N bytes of binary data]".
std::string text_line(const JournalEntry& e);

struct JournalFiles {
  std::string machine_id;            // the folder's name (/etc/machine-id when it has one)
  std::vector<fs::path> files;       // copies on the host
  std::vector<std::string> sources;  // their guest paths
  std::uint64_t bytes = 0;
  std::vector<std::string> skipped;  // "PATH: why" (over the size limit, not a file)
};

// Copies /var/log/journal/<machine-id>/*.journal and *.journal~ of `img`
// into `dir` (which must exist): the image's machine id first, else every
// <32 hex> folder. Files beyond `max_bytes` in total are skipped, oldest
// first kept out (the newest are the ones a failure left). std::nullopt
// with `why` set when the image has no persistent journal.
std::optional<JournalFiles> extract_journal(const ext4::Image& img, const fs::path& dir,
                                            std::uint64_t max_bytes, std::string& why);

struct JournalRead {
  std::uint64_t entries = 0;
  std::uint64_t bad_fields = 0;  // fields sd-journal could not read (a torn tail)
};

// Reads the files in time order (sd_journal_open_files) and hands each
// entry to `each`; `each` returns false to stop. Throws Exit::failed when
// sd-journal cannot open them at all.
JournalRead read_journal(const std::vector<fs::path>& files,
                         const std::function<bool(const JournalEntry&)>& each);

}  // namespace vmu::evidence
