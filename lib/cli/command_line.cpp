#include "cli/command_line.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/options.hpp"
#include "util/error.hpp"

namespace vmu::cli {

namespace {

std::string full_name(const CLI::App* app) {
  return app->get_parent() ? fmt::format("{} {}", app->get_parent()->get_name(), app->get_name())
                           : app->get_name();
}

bool takes_value(const CLI::Option* o) {
  return o->get_type_size() != 0 && o->get_expected_max() > 0;
}

bool takes_many(const CLI::Option* o) {
  return takes_value(o) && o->get_expected_max() > 1;
}

// The option of `opts` named `name` ("--pool", "-p"), or nullptr.
const CLI::Option* find(const std::vector<const CLI::Option*>& opts, const std::string& name) {
  for (const CLI::Option* o : opts) {
    const auto names = option_names(o);
    if (std::find(names.begin(), names.end(), name) != names.end()) return o;
  }
  return nullptr;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const auto near = closest(word, candidates);
  if (near.empty()) return {};
  if (near.size() == 1) return fmt::format(" (did you mean '{}'?)", near.front());
  return fmt::format(" (did you mean '{}' or '{}'?)", near[0], near[1]);
}

}  // namespace

std::vector<std::string> option_names(const CLI::Option* opt) {
  std::vector<std::string> names;
  for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  return names;
}

bool CommandLine::accepts(const CLI::App* sub, const CLI::Option* tool_opt) const {
  if (common_.contains(tool_opt) || share_all_.contains(sub)) return true;
  auto it = shared_.find(tool_opt);
  return it != shared_.end() && it->second.contains(sub);
}

const std::vector<Example>& CommandLine::examples(const CLI::App* where) const {
  static const std::vector<Example> none;
  auto it = examples_.find(where);
  return it == examples_.end() ? none : it->second;
}

std::vector<const CLI::App*> CommandLine::subcommands() const {
  const CLI::App& app = app_;  // the const overload gives const subcommands
  return app.get_subcommands([](const CLI::App*) { return true; });
}

CommandLine::Options CommandLine::options_of(const CLI::App* where) const {
  Options out;
  auto visible = [](const CLI::Option* o) { return !o->get_group().empty() && o->nonpositional(); };
  const bool is_tool = where == &app_;
  for (const CLI::Option* o : where->get_options()) {
    if (!visible(o)) continue;
    if (is_tool) {
      (common_.contains(o) ? out.common : out.own).push_back(o);
    } else if (o != where->get_help_ptr()) {
      out.own.push_back(o);
    }
  }
  if (!is_tool) {
    for (const CLI::Option* o : app_.get_options()) {
      if (!visible(o)) continue;
      if (common_.contains(o))
        out.common.push_back(o);
      else if (accepts(where, o))
        out.shared.push_back(o);
    }
  }
  return out;
}

std::vector<const CLI::Option*> CommandLine::positionals_of(const CLI::App* where) const {
  std::vector<const CLI::Option*> out;
  for (const CLI::Option* o : where->get_options())
    if (o->get_positional() && o->get_lnames().empty() && o->get_snames().empty()) out.push_back(o);
  return out;
}

void CommandLine::check(int argc, const char* const* argv) const {
  const CLI::App* ctx = &app_;
  std::vector<const CLI::Option*> given_tool_opts;  // tool-level options given
  const auto subs = subcommands();
  std::vector<std::string> sub_names;
  for (const CLI::App* s : subs) sub_names.push_back(s->get_name());
  auto sub_named = [&](const std::string& n) -> const CLI::App* {
    for (const CLI::App* s : subs)
      if (s->get_name() == n) return s;
    return nullptr;
  };
  // Every option one may give in `ctx`, tool-level ones included (those
  // are checked against the subcommand at the end).
  auto candidates = [&](const CLI::App* c) {
    std::vector<const CLI::Option*> all;
    for (const CLI::Option* o : c->get_options())
      if (o->nonpositional()) all.push_back(o);
    if (c != &app_)
      for (const CLI::Option* o : app_.get_options())
        if (o->nonpositional()) all.push_back(o);
    return all;
  };
  auto names_in = [&](const CLI::App* c) {
    std::vector<std::string> names;
    auto opts = options_of(c);
    for (const auto* group : {&opts.own, &opts.shared, &opts.common})
      for (const CLI::Option* o : *group)
        for (auto& n : option_names(o))
          if (n.starts_with("--")) names.push_back(n);
    return names;
  };
  // The subcommand an option belongs to, when not `ctx`.
  auto owner_elsewhere = [&](const std::string& name) -> const CLI::App* {
    for (const CLI::App* s : subs)
      if (s != ctx && find(candidates(s), name) && !find(candidates(ctx), name)) return s;
    return nullptr;
  };
  auto unknown_option = [&](const std::string& name) -> Error {
    if (const CLI::App* other = owner_elsewhere(name))
      return Error(Exit::usage, "usage",
                   fmt::format("'{}' is an option of '{}', not of '{}'", name, full_name(other),
                               full_name(ctx)));
    return Error(Exit::usage, "usage",
                 fmt::format("unknown option '{}'{}", name,
                             name.starts_with("--") ? did_you_mean(name, names_in(ctx)) : ""));
  };
  const auto tool_opts = app_.get_options();
  auto note = [&](const CLI::Option* o) {
    if (std::find(tool_opts.begin(), tool_opts.end(), o) != tool_opts.end())
      given_tool_opts.push_back(o);
  };

  std::string last_valued;  // the option just before, when it took one value
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      const std::size_t eq = arg.find('=');
      const std::string name = arg.substr(0, eq);
      const CLI::Option* o = find(candidates(ctx), name);
      if (!o) throw unknown_option(name);
      note(o);
      last_valued.clear();
      if (eq != std::string::npos || !takes_value(o)) continue;
      if (!takes_many(o) && o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll)
        last_valued = name;  // repeatable, one value each
      ++i;                   // its value
      if (takes_many(o))
        while (i + 1 < argc && argv[i + 1][0] != '-' && !sub_named(argv[i + 1])) ++i;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      last_valued.clear();
      for (std::size_t k = 1; k < arg.size(); ++k) {
        const std::string name = fmt::format("-{}", arg[k]);
        const CLI::Option* o = find(candidates(ctx), name);
        if (!o) throw unknown_option(name);
        note(o);
        if (takes_value(o)) {
          if (k + 1 == arg.size()) ++i;  // "-n 4"; else "-n4"
          break;
        }
      }
      continue;
    }
    // A word: a subcommand, or a positional.
    if (ctx == &app_ && !subs.empty()) {
      if (const CLI::App* s = sub_named(arg)) {
        ctx = s;
        continue;
      }
      if (positionals_of(ctx).empty())
        throw Error(Exit::usage, "usage",
                    fmt::format("unknown command '{}'{}; commands: {}", arg,
                                did_you_mean(arg, sub_names), fmt::join(sub_names, ", ")));
    }
    if (positionals_of(ctx).empty())
      throw Error(
          Exit::usage, "usage",
          fmt::format("unexpected argument '{}'{}", arg,
                      last_valued.empty()
                          ? std::string()
                          : fmt::format(" ({} takes one value: repeat it for more)", last_valued)));
  }
  if (ctx == &app_) return;
  for (const CLI::Option* o : given_tool_opts) {
    if (accepts(ctx, o)) continue;
    std::vector<std::string> takers;
    for (const CLI::App* s : subs)
      if (accepts(s, o)) takers.push_back(fmt::format("'{}'", full_name(s)));
    const auto names = option_names(o);
    throw Error(Exit::usage, "usage",
                fmt::format("'{}' does not apply to '{}'{}", names.back(), full_name(ctx),
                            takers.empty() ? std::string()
                                           : fmt::format(" (it is an option of {})",
                                                         fmt::join(takers, ", "))));
  }
}

}  // namespace vmu::cli
