// The VM record (DESIGN.md, "The pipeline contract"): one JSON object per VM
// that flows through the pipeline. Each section is owned by one tool, which
// replaces only its own; everything else, known or not, is kept as it came.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace vmu {

using Json = nlohmann::json;

// The schema's major version. A record with a newer one is refused.
inline constexpr int kRecordVersion = 1;

// The deepest nesting of arrays and objects accepted in any JSON vmutils
// reads (records, specs, stores). nlohmann's parser is iterative, but copying,
// comparing and dumping a value recurse: a line of 100,000 '[' crashed them.
inline constexpr int kMaxJsonDepth = 64;

// Parses untrusted JSON text. Throws Exit::usage ("bad_json") naming `what`
// when it is not JSON, nests deeper than kMaxJsonDepth, or holds a number
// that does not fit a double (1e400).
Json parse_json(std::string_view text, std::string_view what);

// VM ids: [a-z0-9][a-z0-9-]{0,39}.
bool valid_vm_id(std::string_view id);
// Throws Exit::usage quoting the id when it is not valid.
void check_vm_id(std::string_view id);
// "vm-" + 8 random hex digits.
std::string generate_vm_id();

// The `error` section: which tool failed the record, with what code and why.
struct RecordError {
  std::string tool;
  Exit code = Exit::failed;
  std::string reason;
  std::string message;
};

class Record {
 public:
  // A new record: {"v":1, "id":ID, "created":now}.
  static Record create(std::string_view id);
  // Parses one line of JSON Lines. Throws Exit::usage naming what is wrong:
  // not JSON (parse_json), not an object, no valid `id`, `v` missing, not
  // from 1 to kRecordVersion.
  static Record parse(std::string_view line);
  // Validates a JSON value as a record (same rules as parse).
  static Record from_json(Json j);

  const std::string& id() const { return id_; }
  const Json& json() const { return j_; }
  // One line, no trailing newline.
  std::string dump() const;

  bool has(std::string_view section) const;
  // A section to read; an empty object when absent.
  const Json& get(std::string_view section) const;
  // Replaces a whole section.
  void put(std::string_view section, Json value);
  void erase(std::string_view section);

  // Typed access through nlohmann's to_json/from_json for a section struct.
  // A malformed section is bad input (Exit::usage) naming the section.
  template <class T>
  T get_as(std::string_view section) const {
    try {
      return get(section).get<T>();
    } catch (const Json::exception& e) {
      throw Error(Exit::usage, "bad_record",
                  std::string("record '") + id_ + "': section '" + std::string(section) +
                      "' is malformed: " + e.what());
    }
  }

  bool failed() const { return has("error"); }
  RecordError error() const;
  void set_error(const RecordError& e);

 private:
  Record(Json j, std::string id) : j_(std::move(j)), id_(std::move(id)) {}
  Json j_;
  std::string id_;
};

}  // namespace vmu
