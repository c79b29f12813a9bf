// Listing output: a padded table on a terminal, JSON Lines otherwise.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmu::cli {

struct Column {
  std::string header;
  std::string key;  // a top-level field of each row
};

// Prints `rows` to stdout: as a table with `columns` when stdout is a
// terminal (or `force_table`), else each row as one JSON line.
void print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                bool force_table = false);

}  // namespace vmu::cli
