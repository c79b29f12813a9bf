#include "evidence/journal.hpp"

#include <fcntl.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace vmu::evidence {

namespace {

// One UTF-8 character at s[i]: its code point and length; {-1, 1} when invalid.
std::pair<long, std::size_t> utf8_char(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return {b, 1};
  std::size_t n = 0;
  long cp = 0;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return {-1, 1};
  }
  if (i + n > s.size()) return {-1, 1};
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return {-1, 1};
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  static constexpr long kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {-1, 1};
  return {cp, n};
}

std::string utc_micro(std::uint64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}

bool hex32(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool journal_file_name(std::string_view n) {
  return n.ends_with(".journal") || n.ends_with(".journal~");
}

}  // namespace

std::string JournalEntry::get(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

bool export_as_text(std::string_view v) {
  for (std::size_t i = 0; i < v.size();) {
    auto [cp, n] = utf8_char(v, i);
    if (cp < 0) return false;
    if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += n;
  }
  return true;
}

std::string export_entry(const JournalEntry& e) {
  std::string out =
      fmt::format("__CURSOR={}\n__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={}\n",
                  e.cursor, e.realtime_us, e.monotonic_us, e.boot_id);
  for (const auto& [name, value] : e.fields) {
    if (name == "_BOOT_ID") continue;
    out += name;
    if (export_as_text(value)) {
      out += '=';
    } else {
      out += '\n';
      const std::uint64_t n = value.size();
      for (int b = 0; b < 8; ++b) out += static_cast<char>((n >> (8 * b)) & 0xFF);
    }
    out += value;
    out += '\n';
  }
  out += '\n';
  return out;
}

std::string text_line(const JournalEntry& e) {
  std::string ident = e.get("SYSLOG_IDENTIFIER");
  if (ident.empty()) ident = e.get("_COMM");
  if (ident.empty()) ident = "unknown";
  std::string pid = e.get("_PID");
  if (pid.empty()) pid = e.get("SYSLOG_PID");
  std::string host = e.get("_HOSTNAME");
  if (host.empty()) host = "-";
  std::string msg = e.get("MESSAGE");
  std::string shown;
  // A message may hold newlines (printed indented) but is text otherwise.
  bool text = true;
  for (std::size_t i = 0; i < msg.size() && text;) {
    auto [cp, n] = utf8_char(msg, i);
    if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F))
      text = false;
    i += n;
  }
  const std::string head = fmt::format("{} {} {}{}: ", utc_micro(e.realtime_us), host, ident,
                                       pid.empty() ? std::string() : "[" + pid + "]");
  if (!text) {
    shown = fmt::format("[{} bytes of binary data]", msg.size());
  } else {
    const std::string indent(head.size(), ' ');
    for (char c : msg) {
      shown += c;
      if (c == '\n') shown += indent;
    }
  }
  return head + shown + "\n";
}

std::optional<JournalFiles> extract_journal(const ext4::Image& img, const fs::path& dir,
                                            std::uint64_t max_bytes, std::string& why) {
  const std::string base(kJournalDir);
  auto st = img.stat(base, ext4::Follow::yes);
  if (!st || st->type != ext4::FileType::directory) {
    why = fmt::format(
        "the image has no {} (the journal was not persistent: agent-inject "
        "--persist-journal makes it so)",
        base);
    return std::nullopt;
  }
  // The machine's own folder first; else every machine-id-looking one.
  std::string mid;
  try {
    mid = img.read_file("/etc/machine-id", 4096);
  } catch (const Error&) {
  }
  while (!mid.empty() && (mid.back() == '\n' || mid.back() == ' ')) mid.pop_back();
  std::vector<std::string> folders;
  for (const auto& e : img.list(base))
    if (e.type == ext4::FileType::directory && hex32(e.name)) folders.push_back(e.name);
  if (hex32(mid) && std::find(folders.begin(), folders.end(), mid) != folders.end())
    folders = {mid};
  if (folders.empty()) {
    why = fmt::format(
        "{} holds no journal folder (journald never flushed to it: the guest did "
        "not get that far, or its storage is volatile)",
        base);
    return std::nullopt;
  }
  struct Found {
    std::string guest;
    std::uint32_t inode;
    std::uint64_t size;
    std::int64_t mtime;
  };
  std::vector<Found> found;
  for (const auto& f : folders)
    for (const auto& e : img.list(base + "/" + f)) {
      if (!journal_file_name(e.name)) continue;
      const std::string guest = base + "/" + f + "/" + e.name;
      if (e.type != ext4::FileType::regular) continue;
      const ext4::Stat s = img.stat_inode(e.inode);
      found.push_back({guest, e.inode, s.size, s.mtime});
    }
  if (found.empty()) {
    why = fmt::format("{}/{} holds no journal file", base, folders.front());
    return std::nullopt;
  }
  // Newest first, so a size limit drops the oldest.
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime > b.mtime; });
  JournalFiles out;
  out.machine_id = folders.size() == 1 ? folders.front() : mid;
  std::size_t n = 0;
  for (const auto& f : found) {
    if (out.bytes + f.size > max_bytes) {
      out.skipped.push_back(
          fmt::format("{}: {} bytes, over the {} byte limit", f.guest, f.size, max_bytes));
      continue;
    }
    const fs::path host = dir / fmt::format("{:03}-{}", n++, fs::path(f.guest).filename().string());
    Fd fd(::open(host.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) throw sys_error(fmt::format("creating '{}'", host.string()), errno);
    auto reader = img.open_reader(f.inode);
    std::vector<char> buf(1u << 20);
    for (;;) {
      const std::size_t got = reader->read(buf.data(), buf.size());
      if (got == 0) break;
      std::size_t off = 0;
      while (off < got) {
        const ssize_t w = ::write(fd.get(), buf.data() + off, got - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw sys_error(fmt::format("writing '{}'", host.string()), errno);
        off += static_cast<std::size_t>(w);
      }
    }
    out.files.push_back(host);
    out.sources.push_back(f.guest);
    out.bytes += f.size;
  }
  if (out.files.empty()) {
    why = fmt::format("every journal file is over the {} byte limit", max_bytes);
    return std::nullopt;
  }
  return out;
}

JournalRead read_journal(const std::vector<fs::path>& files,
                         const std::function<bool(const JournalEntry&)>& each) {
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.string());
  std::vector<const char*> paths;
  for (const auto& n : names) paths.push_back(n.c_str());
  paths.push_back(nullptr);
  sd_journal* j = nullptr;
  const int r = sd_journal_open_files(&j, paths.data(), 0);
  if (r < 0)
    throw Error(
        Exit::failed, "journal_unreadable",
        fmt::format("opening the guest's journal files with sd-journal: {}", std::strerror(-r)));
  struct Closer {
    sd_journal* j;
    ~Closer() { sd_journal_close(j); }
  } closer{j};
  sd_journal_set_data_threshold(j, 0);  // whole fields, not the first 64 KiB
  JournalRead out;
  while (sd_journal_next(j) > 0) {
    JournalEntry e;
    char* cursor = nullptr;
    if (sd_journal_get_cursor(j, &cursor) >= 0 && cursor) {
      e.cursor = cursor;
      std::free(cursor);
    }
    sd_journal_get_realtime_usec(j, &e.realtime_us);
    sd_id128_t boot{};
    if (sd_journal_get_monotonic_usec(j, &e.monotonic_us, &boot) >= 0) {
      char s[SD_ID128_STRING_MAX];
      e.boot_id = sd_id128_to_string(boot, s);
    }
    const void* data = nullptr;
    std::size_t len = 0;
    sd_journal_restart_data(j);
    for (;;) {
      const int d = sd_journal_enumerate_data(j, &data, &len);
      if (d == 0) break;
      if (d < 0) {
        ++out.bad_fields;
        break;
      }
      const std::string_view f(static_cast<const char*>(data), len);
      const auto eq = f.find('=');
      if (eq == std::string_view::npos) {
        ++out.bad_fields;
        continue;
      }
      e.fields.emplace_back(std::string(f.substr(0, eq)), std::string(f.substr(eq + 1)));
    }
    ++out.entries;
    if (!each(e)) break;
  }
  return out;
}

}  // namespace vmu::evidence
