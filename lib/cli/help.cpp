// --help within 80 columns, in one form for every tool: option groups (the
// tool's own, then those a subcommand shares with the tool, then the
// common ones), "(default: X)" at the end of a description, examples, the
// exit codes. CLI11 2.1 does not wrap descriptions and prints defaults and
// checks in its own ways ("N:UINT in [1 - 4096]=1"); this formatter does
// not.
#include <sstream>

#include "cli/command_line.hpp"
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

std::string indent(const std::string& text, const std::string& pad) {
  std::string out = pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

class Formatter : public CLI::Formatter {
 public:
  explicit Formatter(const CommandLine* cl) : cl_(cl) { column_width(kNameColumn); }

  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    if (positional) return opt->get_name(true, false);
    std::string names;
    for (const auto& n : option_names(opt)) names += (names.empty() ? "" : ", ") + n;
    return names;
  }
  std::string make_option(const CLI::Option* opt, bool positional) const override {
    std::stringstream out;
    CLI::detail::format_help(
        out,
        make_option_name(opt, positional) + (positional ? std::string() : make_option_opts(opt)),
        make_option_desc(opt), column_width_);
    return out.str();
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_type_size() == 0) return {};
    std::string s = " " + opt->get_type_name();
    if (opt->get_expected_max() > 1) s += " ...";
    return s;
  }
  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string d = opt->get_description();
    const bool says_default = d.find("default") != std::string::npos;
    const std::string env = opt->get_envname();
    if (!env.empty() && d.find("$" + env) == std::string::npos) {
      d += says_default ? fmt::format(" (or ${})", env) : fmt::format(" (default: ${})", env);
    } else if (!says_default && !opt->get_default_str().empty()) {
      d += fmt::format(" (default: {})", opt->get_default_str());
    }
    return wrap(d, kColumns - kNameColumn - 1);
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
    if (f.empty() && app->get_parent()) f = app->get_parent()->get_footer();
    return f.empty() ? std::string() : f + "\n";
  }

  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (cl_ == nullptr) return CLI::Formatter::make_help(app, std::move(name), mode);
    std::stringstream out;
    out << make_description(app) << make_usage(app, name) << make_positionals(app);
    const CommandLine::Options opts = cl_->options_of(app);
    // The tool's own options, by group, in the order the groups appear.
    std::vector<std::string> groups;
    for (const CLI::Option* o : opts.own)
      if (std::find(groups.begin(), groups.end(), o->get_group()) == groups.end())
        groups.push_back(o->get_group());
    for (const auto& g : groups) {
      std::vector<const CLI::Option*> in;
      for (const CLI::Option* o : opts.own)
        if (o->get_group() == g) in.push_back(o);
      out << make_group(g, false, in);
    }
    if (!opts.shared.empty())
      out << make_group(fmt::format("Options of {} also taken here", cl_->app().get_name()), false,
                        opts.shared);
    if (!opts.common.empty()) out << make_group("Common options", false, opts.common);
    out << make_subcommands(app, mode);
    const auto& examples = cl_->examples(app);
    if (!examples.empty()) {
      out << "\nExamples:\n";
      for (const auto& e : examples)
        out << indent(e.command, "  ") << "\n"
            << indent(wrap(e.what, kColumns - 7), "      ") << "\n";
    }
    out << '\n' << make_footer(app);
    return out.str();
  }

 private:
  const CommandLine* cl_;
};

}  // namespace

std::shared_ptr<CLI::Formatter> make_formatter() {
  return std::make_shared<Formatter>(nullptr);
}

std::shared_ptr<CLI::Formatter> make_formatter(const CommandLine& cl) {
  return std::make_shared<Formatter>(&cl);
}

}  // namespace vmu::cli
