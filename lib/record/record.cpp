#include "record/record.hpp"

#include <sys/random.h>

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
  if (v->get<long long>() > kRecordVersion)
    throw Error(Exit::usage, "bad_record",
                fmt::format("record '{}' has schema version {}, newer than this tool's {}: "
                            "upgrade vmutils",
                            sid, v->get<long long>(), kRecordVersion));
  return Record(std::move(j), std::move(sid));
}

Record Record::parse(std::string_view line) {
  Json j;
  try {
    j = Json::parse(line);
  } catch (const Json::parse_error& e) {
    throw Error(Exit::usage, "bad_record", fmt::format("not JSON: {}", e.what()));
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
  const Json& e = get("error");
  RecordError out;
  out.tool = e.value("tool", "");
  out.code = static_cast<Exit>(e.value("code", 1));
  out.reason = e.value("reason", "");
  out.message = e.value("message", "");
  return out;
}

void Record::set_error(const RecordError& e) {
  put("error", Json{{"tool", e.tool},
                    {"code", static_cast<int>(e.code)},
                    {"reason", e.reason},
                    {"message", e.message}});
}

}  // namespace vmu
