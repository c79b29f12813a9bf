// JSON Lines on stdin and the record: LineReader splits, Record::parse
// (parse_json: depth bound, number range) validates, dump re-serialises.
#include "record/record.hpp"
#include "fuzz.hpp"
#include "record/jsonl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vmu::fuzz::MemFile f(vmu::fuzz::bytes(data, size));
  vmu::Fd fd(::open(f.path().c_str(), O_RDONLY | O_CLOEXEC));
  vmu::LineReader in(fd.get(), 4096);
  while (auto line = in.next()) {
    if (line->too_long) continue;
    try {
      vmu::Record r = vmu::Record::parse(line->text);
      (void)r.dump();
      (void)r.failed();
      if (r.failed()) (void)r.error();
      r.put("fuzz", vmu::Json{{"seen", true}});
      (void)vmu::Record::parse(r.dump());
    } catch (const vmu::Error&) {
    }
  }
  return 0;
}
