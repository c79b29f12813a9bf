// The guest reporter's framed blocks (ReporterParser::line, build_report):
// lines from a guest console, one per '\n' of the input, cut, reordered or
// corrupted at will, cleaned as the console analyzer cleans every line
// before the parser sees it. A block that completes is summarised and
// serialised as a record is (invalid UTF-8 replaced, never thrown).
#include "diagnose/reporter.hpp"
#include "diagnose/lines.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = vmu::fuzz::bytes(data, size);
  vmu::diagnose::ReporterParser parser;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string line = vmu::diagnose::clean_line(text.substr(0, nl));
    if (auto r = parser.line(line)) {
      (void)r->summary();
      (void)r->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      (void)r->listening_on(8080);
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (parser.complete() > size) __builtin_trap();  // more blocks than bytes
  return 0;
}
