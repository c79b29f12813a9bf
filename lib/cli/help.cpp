// --help within 80 columns. CLI11 2.1 does not wrap descriptions; this
// formatter does, so that every tool's help fits a terminal (tested).
#include <sstream>

#include "cli/tool.hpp"

namespace vmu::cli {

namespace {

constexpr std::size_t kColumns = 80;
constexpr std::size_t kNameColumn = 30;

std::string wrap(const std::string& text, std::size_t width) {
  std::string out, line;
  std::istringstream paragraphs(text);
  std::string para;
  bool first_para = true;
  while (std::getline(paragraphs, para)) {
    if (!first_para) out += '\n';
    first_para = false;
    std::istringstream words(para);
    std::string word;
    line.clear();
    bool first_line = true;
    while (words >> word) {
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        if (!first_line) out += '\n';
        out += line;
        first_line = false;
        line.clear();
      }
      line += line.empty() ? word : " " + word;
    }
    if (!line.empty()) {
      if (!first_line) out += '\n';
      out += line;
    }
  }
  return out;
}

class Formatter : public CLI::Formatter {
 public:
  Formatter() { column_width(kNameColumn); }
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(opt->get_description(), kColumns - kNameColumn - 1);
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true),
                             wrap(sub->get_description(), kColumns - kNameColumn - 1),
                             column_width_);
    return out.str();
  }
  std::string make_description(const CLI::App* app) const override {
    std::string desc = app->get_description();
    return desc.empty() ? std::string() : wrap(desc, kColumns - 1) + "\n\n";
  }
  std::string make_footer(const CLI::App* app) const override {
    std::string f = app->get_footer();
    return f.empty() ? std::string() : "\n" + f + "\n";
  }
};

}  // namespace

std::shared_ptr<CLI::Formatter> make_formatter() {
  return std::make_shared<Formatter>();
}

}  // namespace vmu::cli
