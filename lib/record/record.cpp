#include "record/record.hpp"

#include <sys/random.h>

#include <cstdint>

#include <fmt/format.h>

#include "util/time.hpp"

namespace vmu {

bool valid_vm_id(std::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id.front())) return false;
  for (char c : id)
    if (!lower_or_digit(c) && c != '-') return false;
  return true;
}

void check_vm_id(std::string_view id) {
  if (!valid_vm_id(id))
    throw Error(Exit::usage, "bad_id",
                fmt::format("'{}' is not a valid VM id: use 1 to 40 of a-z, 0-9 and '-', "
                            "starting with a letter or digit",
                            id));
}

std::string generate_vm_id() {
  unsigned char b[4];
  std::size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return fmt::format("vm-{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
}

namespace {

// The deepest nesting in `text`, counted over brackets outside strings; stops
// counting once past `limit`. Invalid JSON is left to the parser.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Json parse_json(std::string_view text, std::string_view what) {
  if (nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth)
    throw Error(Exit::usage, "bad_json",
                fmt::format("{}: nested deeper than {} arrays or objects", what, kMaxJsonDepth));
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2:
    // syntax error while parsing value - invalid literal; last read: 'no'":
    // said in words, without the library's numbering.
    std::string why = e.what();
    if (auto p = why.find(": ", why.find("column")); p != std::string::npos) why.erase(0, p + 2);
    throw Error(Exit::usage, "bad_json",
                fmt::format("{}: not valid JSON (at byte {}: {})", what, e.byte, why));
  } catch (const Json::exception& e) {
    // out_of_range for a number such as 1e400.
    std::string why = e.what();
    if (why.starts_with("[json.exception.")) why.erase(0, why.find("] ") + 2);
    throw Error(Exit::usage, "bad_json", fmt::format("{}: not valid JSON ({})", what, why));
  }
}

Record Record::create(std::string_view id) {
  check_vm_id(id);
  Json j = Json::object();
  j["v"] = kRecordVersion;
  j["id"] = id;
  j["created"] = now_rfc3339();
  return Record(std::move(j), std::string(id));
}

Record Record::from_json(Json j) {
  if (!j.is_object()) throw Error(Exit::usage, "bad_record", "a record must be a JSON object");
  auto id = j.find("id");
  if (id == j.end() || !id->is_string())
    throw Error(Exit::usage, "bad_record", "the record has no string 'id'");
  std::string sid = id->get<std::string>();
  if (!valid_vm_id(sid))
    throw Error(Exit::usage, "bad_record", fmt::format("the record's id '{}' is not valid", sid));
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer())
    throw Error(Exit::usage, "bad_record", fmt::format("record '{}' has no integer 'v'", sid));
  if (v->is_number_unsigned() ? v->get<std::uint64_t>() > kRecordVersion
                              : v->get<long long>() > kRecordVersion)
    throw Error(Exit::usage, "bad_record",
                fmt::format("record '{}' has schema version {}, newer than this tool's {}: "
                            "upgrade vmutils",
                            sid, v->dump(), kRecordVersion));
  if (v->get<long long>() < 1)
    throw Error(Exit::usage, "bad_record",
                fmt::format("record '{}' has schema version {}: versions start at 1", sid,
                            v->get<long long>()));
  return Record(std::move(j), std::move(sid));
}

Record Record::parse(std::string_view line) {
  Json j;
  try {
    j = parse_json(line, "not a record");
  } catch (const Error& e) {
    throw Error(Exit::usage, "bad_record", e.what());
  }
  return from_json(std::move(j));
}

std::string Record::dump() const {
  // Invalid UTF-8 from elsewhere is replaced rather than aborting the dump.
  return j_.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool Record::has(std::string_view section) const {
  return j_.contains(section);
}

const Json& Record::get(std::string_view section) const {
  static const Json empty = Json::object();
  auto it = j_.find(section);
  return it == j_.end() ? empty : *it;
}

void Record::put(std::string_view section, Json value) {
  j_[std::string(section)] = std::move(value);
}

void Record::erase(std::string_view section) {
  j_.erase(std::string(section));
}

RecordError Record::error() const {
  // From elsewhere: a field of the wrong type is read as absent (the fuzzer
  // found {"error":{"tool":7}} escaping as a JSON type error).
  const Json& e = get("error");
  auto text = [&](const char* k) {
    auto it = e.is_object() ? e.find(k) : e.end();
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  RecordError out;
  out.tool = text("tool");
  if (auto it = e.is_object() ? e.find("code") : e.end();
      it != e.end() && it->is_number_integer() && it->get<long long>() > 0 &&
      it->get<long long>() < 256)
    out.code = static_cast<Exit>(it->get<int>());
  out.reason = text("reason");
  out.message = text("message");
  return out;
}

void Record::set_error(const RecordError& e) {
  put("error", Json{{"tool", e.tool},
                    {"code", static_cast<int>(e.code)},
                    {"reason", e.reason},
                    {"message", e.message}});
}

}  // namespace vmu
