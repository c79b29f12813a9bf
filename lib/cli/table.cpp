#include "cli/table.hpp"

#include <libsmartcols/libsmartcols.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "record/jsonl.hpp"
#include "util/error.hpp"

namespace vmu::cli {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string cell(const nlohmann::json& row, const Column& c) {
  if (c.text) return c.text(row);
  auto it = row.find(c.key);
  if (it == row.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The columns named by `shown` (headers, any case), in its order.
std::vector<const Column*> pick(const std::vector<Column>& columns,
                                const std::vector<std::string>& shown) {
  std::vector<const Column*> out;
  if (shown.empty()) {
    for (const auto& c : columns) out.push_back(&c);
    return out;
  }
  for (const auto& name : shown) {
    auto it = std::find_if(columns.begin(), columns.end(),
                           [&](const Column& c) { return upper(c.header) == upper(name); });
    if (it == columns.end()) {
      std::vector<std::string> valid;
      for (const auto& c : columns) valid.push_back(c.header);
      throw Error(
          Exit::usage, "usage",
          fmt::format("-o: unknown column '{}'; the columns are {}", name, fmt::join(valid, ",")));
    }
    out.push_back(&*it);
  }
  return out;
}

bool print_json(const std::vector<nlohmann::json>& rows, const std::vector<const Column*>* only) {
  LineWriter out(STDOUT_FILENO);
  for (const auto& r : rows) {
    nlohmann::json j = r;
    if (only) {
      j = nlohmann::json::object();
      for (const Column* c : *only) {
        auto it = r.find(c->key);
        if (it != r.end())
          j[c->key] = *it;
        else if (c->text)
          j[c->key] = c->text(r);
      }
    }
    if (!out.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))) return false;
  }
  return true;
}

struct TableDeleter {
  void operator()(libscols_table* t) const { scols_unref_table(t); }
};

bool print_table(const std::vector<nlohmann::json>& rows, const std::vector<const Column*>& cols,
                 const TableOptions& opts) {
  std::unique_ptr<libscols_table, TableDeleter> tb(scols_new_table());
  if (!tb) throw std::bad_alloc();
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const bool colour = use_color(STDOUT_FILENO, opts.color);
  scols_table_set_stream(tb.get(), stdout);
  scols_table_enable_colors(tb.get(), colour ? 1 : 0);
  scols_table_enable_noheadings(tb.get(), opts.no_legend ? 1 : 0);
  // Off a terminal (force_table) the table is not fitted to any width.
  scols_table_set_termforce(tb.get(), tty ? SCOLS_TERMFORCE_AUTO : SCOLS_TERMFORCE_NEVER);
  for (const Column* c : cols) {
    int flags = 0;
    if (c->fit == Fit::truncate) flags |= SCOLS_FL_TRUNC;
    if (c->fit == Fit::wrap) flags |= SCOLS_FL_WRAP;
    if (c->right) flags |= SCOLS_FL_RIGHT;
    libscols_column* cl = scols_table_new_column(tb.get(), c->header.c_str(), 0, flags);
    if (!cl) throw std::bad_alloc();
    if (colour) scols_cell_set_color(scols_column_get_header(cl), "bold");
  }
  for (const auto& r : rows) {
    libscols_line* ln = scols_table_new_line(tb.get(), nullptr);
    if (!ln) throw std::bad_alloc();
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const std::string text = cell(r, *cols[i]);
      if (scols_line_set_data(ln, i, text.c_str()) != 0) throw std::bad_alloc();
      if (!colour) continue;
      if (auto it = cols[i]->colors.find(text); it != cols[i]->colors.end())
        scols_cell_set_color(scols_line_get_cell(ln, i), it->second.c_str());
    }
  }
  errno = 0;
  scols_print_table(tb.get());
  const bool ok = std::fflush(stdout) == 0 && !std::ferror(stdout);
  if (!ok && errno != EPIPE) throw sys_error("writing the table to standard output", errno);
  return ok;
}

}  // namespace

bool print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                const TableOptions& opts) {
  const auto cols = pick(columns, opts.columns);
  const bool table = !opts.json && (opts.force_table || ::isatty(STDOUT_FILENO) == 1);
  if (!table) return print_json(rows, opts.columns.empty() ? nullptr : &cols);
  return print_table(rows, cols, opts);
}

void print_rows(const std::vector<nlohmann::json>& rows, const std::vector<Column>& columns,
                bool force_table) {
  TableOptions opts;
  opts.force_table = force_table;
  print_rows(rows, columns, opts);
}

std::vector<std::string> Table::headers() const {
  std::vector<std::string> out;
  for (const auto& c : columns_) out.push_back(c.header);
  return out;
}

bool Table::as_table() const {
  return !opts_.json && (opts_.force_table || ::isatty(STDOUT_FILENO) == 1);
}

void Table::check_names(const std::vector<std::string>& names) const {
  (void)pick(columns_, names);
}

bool Table::print(const std::vector<nlohmann::json>& rows,
                  const std::vector<std::string>& shown) const {
  TableOptions o = opts_;
  if (o.columns.empty()) o.columns = shown;
  // Without -o, JSON keeps whole rows: the table's columns are a view.
  if (opts_.columns.empty() && (o.json || ::isatty(STDOUT_FILENO) != 1) && !o.force_table)
    o.columns.clear();
  return print_rows(rows, columns_, o);
}

}  // namespace vmu::cli
