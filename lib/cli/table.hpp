// Listing output (vmnet-alloc list, rootfs-inspect ls|check|diff, vm-ls):
// JSON Lines when stdout is not a terminal or with --json; on a terminal a
// table by libsmartcols (what lsblk and findmnt use) that fits the
// terminal's width, truncating or wrapping the columns that allow it. A
// listing command gets --json, -o COLUMNS and --no-legend from
// Tool::add_table_options, and prints through the Table it returns.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/log.hpp"

namespace vmu::cli {

enum class Fit {
  keep,      // never narrowed
  truncate,  // cut when the terminal is too narrow
  wrap,      // continued on the next lines of its cell
};

struct Column {
  std::string header;  // also the name -o takes (any case)
  std::string key;     // a top-level field of each row
  Fit fit = Fit::keep;
  bool right = false;  // numbers
  // The cell's text when it is not simply the field (nullptr: the field;
  // strings as they are, "-" when absent, other values as JSON).
  std::function<std::string(const nlohmann::json& row)> text = nullptr;
  // A colour (libsmartcols names: "red", "yellow", "bold"...) per cell text.
  std::map<std::string, std::string> colors = {};
};

struct TableOptions {
  bool json = false;                 // --json: JSON Lines even on a terminal
  std::vector<std::string> columns;  // -o: headers to show, in order (empty: the defaults)
  bool no_legend = false;            // --no-legend: no header line
  ColorWhen color = ColorWhen::automatic;
  bool force_table = false;  // a table even when stdout is not a terminal
};

// Prints `rows`: a table of `columns` (or of the -o ones) on a terminal,
// else JSON Lines (whole rows; only the -o columns' fields when -o is
// given). Returns false when stdout was closed by its reader.
bool print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                const TableOptions& opts);

// The same with default options (kept for tools that have no -o/--json).
void print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                bool force_table = false);

// A listing command's table: every column -o may name, those shown by
// default, and the options given. Made by Tool::add_table_options.
class Table {
 public:
  Table(std::vector<Column> columns, std::vector<std::string> shown)
      : columns_(std::move(columns)), shown_(std::move(shown)) {}

  // Prints with the command's options; `shown` replaces the default
  // columns (e.g. ls -l). False when stdout was closed.
  bool print(const std::vector<nlohmann::json>& rows) const { return print(rows, shown_); }
  bool print(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& shown) const;

  // A table (stdout a terminal, or forced, and no --json), not JSON Lines.
  bool as_table() const;
  // Exit::usage listing the valid names when one of `names` is unknown.
  void check_names(const std::vector<std::string>& names) const;
  std::vector<std::string> headers() const;

  TableOptions& options() { return opts_; }
  std::string output_arg;  // -o as given: "ID,IP"

 private:
  std::vector<Column> columns_;
  std::vector<std::string> shown_;
  TableOptions opts_;
};

}  // namespace vmu::cli
