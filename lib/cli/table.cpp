#include "cli/table.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "record/jsonl.hpp"

namespace vmu::cli {

namespace {
std::string cell(const nlohmann::json& row, const std::string& key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}
}  // namespace

void print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                bool force_table) {
  if (!force_table && ::isatty(STDOUT_FILENO) != 1) {
    LineWriter out(STDOUT_FILENO);
    for (const auto& r : rows)
      out.write(r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::vector<std::size_t> width;
  for (const auto& c : columns) width.push_back(c.header.size());
  for (const auto& r : rows)
    for (std::size_t i = 0; i < columns.size(); ++i)
      width[i] = std::max(width[i], cell(r, columns[i].key).size());
  auto line = [&](auto get) {
    std::string s;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string v = get(i);
      s += i + 1 == columns.size() ? v : fmt::format("{:<{}}  ", v, width[i]);
    }
    fmt::print("{}\n", s);
  };
  line([&](std::size_t i) { return columns[i].header; });
  for (const auto& r : rows) line([&](std::size_t i) { return cell(r, columns[i].key); });
  std::fflush(stdout);
}

}  // namespace vmu::cli
