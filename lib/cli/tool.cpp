#include "cli/tool.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/ranges.h>

#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "net/etcd_store.hpp"
#include "record/jsonl.hpp"
#include "version.hpp"

namespace vmu::cli {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) {
  g_interrupted.store(true);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal kills as usual; no SA_RESTART
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is an EPIPE we handle
}

// The pipeline's steps in order: an error left by an earlier step means
// that step did not finish, so a later tool's --retry cannot mend it.
constexpr std::string_view kChain[] = {"vmnet-alloc", "rootfs-clone", "agent-inject", "fc-launch",
                                       "vm-wait-ready"};

bool step_before(std::string_view a, std::string_view b) {
  const auto ia = std::find(std::begin(kChain), std::end(kChain), a);
  const auto ib = std::find(std::begin(kChain), std::end(kChain), b);
  return ia != std::end(kChain) && ib != std::end(kChain) && ia < ib;
}

// The error section, read defensively: a record is data from elsewhere.
RecordError error_of(const Record& rec) {
  RecordError e;
  const Json& j = rec.get("error");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("?");
  };
  e.tool = str("tool");
  e.reason = str("reason");
  e.message = str("message");
  auto c = j.find("code");
  e.code =
      c != j.end() && c->is_number_integer() && c->get<long long>() > 0 && c->get<long long>() < 256
          ? static_cast<Exit>(c->get<int>())
          : Exit::failed;
  return e;
}

// "a, b, c and 4 more"
std::string some(const std::vector<std::string>& ids) {
  constexpr std::size_t kShown = 5;
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) s += (i ? ", " : "") + ids[i];
  if (ids.size() > kShown) s += fmt::format(" and {} more", ids.size() - kShown);
  return s;
}

// How long a stopped pipeline tool still reads its input: the tools before
// it got the same SIGINT and pass on what they hold as they stop.
constexpr std::chrono::milliseconds kDrainWindow{2000};

// The sections of `saved` that `rec` lacks (the `error` section aside).
std::vector<std::string> sections_lost(const Record& saved, const Record& rec) {
  std::vector<std::string> lost;
  for (const auto& [key, value] : saved.json().items())
    if (key != "error" && !rec.has(key)) lost.push_back(key);
  return lost;
}

// The next record on `in`; a line that is not one is reported with its
// number and skipped (`note` gets its exit code).
std::optional<Record> next_record(LineReader& in, Log& log, const std::function<void(Exit)>& note) {
  for (;;) {
    auto line = in.next();
    if (!line) return std::nullopt;
    if (line->too_long) {
      log.error("standard input line {}: longer than {} bytes, skipped", line->number,
                kMaxLineBytes);
      note(Exit::usage);
      continue;
    }
    try {
      return Record::parse(line->text);
    } catch (const Error& e) {
      log.error("standard input line {}: {}; skipped", line->number, e.what());
      note(e.code());
    }
  }
}

}  // namespace

bool Tool::interrupted() {
  return g_interrupted.load();
}

Tool::Tool(std::string name, std::string summary)
    : name_(std::move(name)), app_(std::move(summary), name_), cl_(app_), log_(name_) {
  app_.formatter(make_formatter(cl_));
  constexpr const char* kCommon = "Common options";
  auto common = [&](CLI::Option* o) {
    o->group(kCommon);
    cl_.add_common(o);
  };
  common(app_.set_help_flag("-h,--help", "Print this help and exit"));
  common(app_.set_version_flag("-V,--version", fmt::format("{} (vmutils) {}", name_, kVersion),
                               "Print the version and exit"));
  common(app_.add_flag("-v,--verbose", verbose_, "Say more on stderr (repeatable)"));
  common(app_.add_flag("-q,--quiet", quiet_, "Errors only on stderr"));
  common(app_.add_option("--state-dir", state_dir_,
                         "State folder (default: $VMUTILS_STATE_DIR, /var/lib/vmutils as root, "
                         "$XDG_STATE_HOME/vmutils otherwise)")
             ->type_name("DIR"));
  common(app_.add_option("--color", color_word_,
                         "Colour on a terminal: auto (the default: not with NO_COLOR or "
                         "TERM=dumb), always, never")
             ->type_name("WHEN")
             ->check(one_of({"auto", "always", "never"})));
  app_.footer(
      fmt::format("Exit codes: 0 ok, 1 failed, 2 usage, 3 not ready, 4 guest failed,\n"
                  "5 resource exhausted, 130 interrupted. See {}(1) and vmutils(7).",
                  name_));
}

CLI::App* Tool::add_subcommand(const std::string& name, const std::string& summary) {
  CLI::App* sub = app_.add_subcommand(name, summary);
  // CLI11 hands options it does not find here to the tool; CommandLine
  // refuses those the subcommand does not take before CLI11 sees them.
  sub->fallthrough();
  sub->formatter(app_.get_formatter());
  return sub;
}

void Tool::add_example(CLI::App* where, std::string command, std::string what) {
  cl_.add_example(where, {std::move(command), std::move(what)});
}

void Tool::add_id_option(CLI::App* where, const std::string& help, bool many, Retry retry) {
  // One id per --id, repeatable when `many`: a word after it is never
  // taken as another id (rootfs-inspect diff --id A IMAGE_B).
  auto* opt = where->add_option("--id", ids_, help)->type_name("ID");
  opt->expected(1)->allow_extra_args(false);
  opt->multi_option_policy(many ? CLI::MultiOptionPolicy::TakeAll : CLI::MultiOptionPolicy::Throw);
  opt->check([](const std::string& v) -> std::string {
    return valid_vm_id(v) ? std::string()
                          : fmt::format("'{}' is not a valid VM id (1-40 of a-z, 0-9, '-')", v);
  });
  if (many && retry == Retry::offered && retry_opt_ == nullptr)
    retry_opt_ = where->add_flag("--retry", retry_,
                                 "With --id: clear the error a VM's record carries and run this "
                                 "step again");
}

Table& Tool::add_table_options(CLI::App* where, std::vector<Column> columns,
                               std::vector<std::string> shown) {
  Table& t = tables_.emplace_back(std::move(columns), std::move(shown));
  std::string list;
  for (const auto& n : t.headers()) list += (list.empty() ? "" : ", ") + n;
  where->add_flag(
      "--json", [&t](std::int64_t) { t.options().json = true; },
      "JSON Lines, also on a terminal (the default in pipes)");
  where
      ->add_option("-o,--output", t.output_arg,
                   fmt::format("Columns to show, comma-separated, of: {}", list))
      ->type_name("COLUMNS");
  where->add_flag(
      "--no-legend", [&t](std::int64_t) { t.options().no_legend = true; },
      "No header line in the table");
  return t;
}

State Tool::state() const {
  State st = State::resolve(state_dir_);
  std::call_once(registry_once_, [this] {
    const char* spec = std::getenv("VMUTILS_STORE");
    registry_ = open_record_registry(spec ? spec : "");
  });
  st.set_registry(registry_);
  return st;
}

ProgressFn Tool::progress(std::string key, std::uint64_t min_bytes) {
  return progress_reporter(log_, std::move(key), min_bytes);
}

Record Tool::id_record() const {
  if (ids_.size() != 1) throw Error(Exit::usage, "usage", "--id names one VM here");
  return state().load(ids_.front());
}

void Tool::report_closed_stdout(const std::string& what) {
  log_.warn("standard output was closed by the program reading it: the rest of {} was not written",
            what);
}

int Tool::complete_ids(int argc, char** argv) {
  // For completion scripts: the VM ids of the state folder, one a line;
  // nothing at all when there is none or it cannot be read.
  std::optional<std::string> dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--state-dir" && i + 1 < argc) dir = argv[i + 1];
    if (a.starts_with("--state-dir=")) dir = a.substr(std::strlen("--state-dir="));
  }
  try {
    for (const auto& id : State::resolve(dir).list_ids()) fmt::print("{}\n", id);
  } catch (const std::exception&) {
    // a completion offers nothing rather than an error
  }
  return 0;
}

int Tool::main(int argc, char** argv, const std::function<int()>& body) {
  install_signal_handlers();
  if (argc == 3 && std::strcmp(argv[1], "--completion") == 0) {
    try {
      std::fputs(completion_script(cl_, argv[2]).c_str(), stdout);
      return 0;
    } catch (const Error& e) {
      log_.error("{}", e.what());
      return static_cast<int>(e.code());
    }
  }
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--complete-ids") == 0) return complete_ids(argc, argv);
  try {
    cl_.check(argc, argv);
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e);  // help on stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app_.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_.exit(e);
  } catch (const CLI::ParseError& e) {
    log_.error("{}", e.what());
    fmt::print(stderr, "Try '{} --help' for more information.\n", name_);
    return static_cast<int>(Exit::usage);
  } catch (const Error& e) {
    log_.error("{}", e.what());
    fmt::print(stderr, "Try '{} --help' for more information.\n", name_);
    return static_cast<int>(Exit::usage);
  }
  log_.set_verbosity(quiet_ > 0 ? -1 : verbose_);
  try {
    color_ = parse_color_when(color_word_);
    log_.set_color(color_);
    for (auto& t : tables_) {
      t.options().color = color_;
      if (t.output_arg.empty()) continue;
      std::vector<std::string> names;
      for (std::size_t pos = 0; pos <= t.output_arg.size();) {
        const std::size_t comma = t.output_arg.find(',', pos);
        const std::string n =
            t.output_arg.substr(pos, comma == std::string::npos ? comma : comma - pos);
        if (!n.empty()) names.push_back(n);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
      t.check_names(names);
      t.options().columns = names;
    }
    if (retry_ && ids_.empty())
      throw Error(Exit::usage, "usage",
                  "--retry works with --id only: records on standard input that carry an error "
                  "pass through untouched");
    int rc = body();
    if (interrupted() && rc == 0 && !late_interrupt_ok_) {
      log_.error("interrupted");
      rc = static_cast<int>(Exit::interrupted);
    }
    return rc;
  } catch (const Error& e) {
    log_.end_progress();
    if (e.code() == Exit::interrupted)
      log_.error("interrupted");
    else
      log_.error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    log_.error("out of memory");
    return static_cast<int>(Exit::exhausted);
  } catch (const std::exception& e) {
    log_.error("internal error: {} (please report this)", e.what());
    return static_cast<int>(Exit::failed);
  }
}

Exit Tool::take_failed_id(Record& rec) {
  const RecordError e = error_of(rec);
  const std::string& id = rec.id();
  const std::string failed = fmt::format("{}: {} failed on this VM (exit {}, {}): {}", id, e.tool,
                                         static_cast<int>(e.code), e.reason, e.message);
  const bool earlier = step_before(e.tool, name_);
  if (!retry_) {
    std::string hint;
    if (e.tool == name_)
      hint = fmt::format("once the cause is fixed, run it again: {} --id {} --retry", name_, id);
    else if (earlier)
      hint = fmt::format("fix that and run '{} --id {} --retry' before {}", e.tool, id, name_);
    else
      hint = fmt::format("to run {} on it again: {} --id {} --retry", name_, name_, id);
    log_.error("{}; {}", failed, hint);
    return e.code;
  }
  if (earlier) {
    log_.error(
        "{}; --retry here cannot mend that, as the {} step did not finish: run '{} --id {} "
        "--retry' first",
        failed, e.tool, e.tool, id);
    return e.code;
  }
  log_.info("{}: --retry: clearing the error {} left ({}) and running {} again", id, e.tool,
            e.reason, name_);
  rec.erase("error");
  return Exit::ok;
}

int Tool::for_each_record(const std::function<void(const Record&)>& fn) {
  Exit first = Exit::ok;
  auto note = [&](Exit c) {
    if (first == Exit::ok) first = c;
  };
  auto one = [&](const Record& rec) {
    try {
      fn(rec);
    } catch (const Error& e) {
      log_.error("{}: {}", rec.id(), e.what());
      note(e.code());
    }
  };
  const State st = state();
  if (has_ids()) {
    for (const auto& id : ids_) {
      if (interrupted()) break;
      Record rec = st.load(id);
      if (rec.failed()) {
        const Exit c = take_failed_id(rec);
        if (c != Exit::ok) {
          note(c);
          continue;
        }
      }
      one(rec);
    }
  } else {
    if (::isatty(STDIN_FILENO) == 1)
      throw Error(Exit::usage,
                  fmt::format("no records: pipe records into {} (e.g. from vmnet-alloc), or "
                              "name a VM with --id",
                              name_));
    LineReader in(STDIN_FILENO, kMaxLineBytes, [] { return interrupted(); });
    while (auto rec = next_record(in, log_, note)) {
      if (interrupted()) break;
      if (rec->failed())
        log_.debug("{}: skipped: {} failed on it", rec->id(), error_of(*rec).tool);
      else
        one(*rec);
    }
  }
  if (interrupted()) return static_cast<int>(Exit::interrupted);
  return static_cast<int>(first);
}

int Tool::pipeline(const std::function<void(Record&)>& fn, PipelineOptions opts) {
  const State st = state();
  RecordOutput out(STDOUT_FILENO);
  std::mutex mu;
  Exit first_failure = Exit::ok;
  std::size_t unprocessed = 0;
  std::vector<std::string> not_worked;  // read, then dropped: stdout had closed
  auto note_failure = [&](Exit code) {
    std::lock_guard lock(mu);
    if (first_failure == Exit::ok) first_failure = code;
  };

  // A failed record is saved unless the saved one is further along: a
  // refusal never makes the state less than it was.
  auto save_failed = [&](const Record& rec) {
    std::optional<Record> saved;
    try {
      saved = st.load_if_exists(rec.id());
    } catch (const Error&) {
      // unreadable: replaced by this one
    }
    if (saved) {
      const auto lost = sections_lost(*saved, rec);
      if (!lost.empty()) {
        log_.warn("{}: the saved record was kept as it was: it has {} that this one lacks",
                  rec.id(), fmt::join(lost, ", "));
        return;
      }
    }
    st.save(rec);
  };

  // One record, start to end: process, save, print. After SIGINT/SIGTERM
  // a record is not worked on: it leaves with error `interrupted` (so no
  // later tool acts on it) and its saved record stays as it was. Once
  // stdout is closed nothing more is worked on: nobody would receive it.
  auto handle = [&](Record rec) {
    if (out.closed()) {
      std::lock_guard lock(mu);
      not_worked.push_back(rec.id());
      return;
    }
    const bool arrived_failed = rec.failed();
    if (arrived_failed && !opts.take_failed) {
      // passed on untouched, not saved again
    } else if (interrupted()) {
      if (!arrived_failed)
        rec.set_error({name_, Exit::interrupted, "interrupted",
                       fmt::format("{} was interrupted before it worked on this record", name_)});
      note_failure(Exit::interrupted);
      std::lock_guard lock(mu);
      ++unprocessed;
    } else {
      bool ok = false;
      try {
        fn(rec);
        ok = true;
      } catch (const Error& e) {
        const bool interrupted_here = e.code() == Exit::interrupted;
        if (!arrived_failed)
          rec.set_error({name_, e.code(), interrupted_here ? "interrupted" : e.reason(), e.what()});
        log_.error("{}: {}", rec.id(), interrupted_here ? "interrupted" : e.what());
        note_failure(e.code());
      } catch (const std::exception& e) {
        if (!arrived_failed) rec.set_error({name_, Exit::failed, "internal", e.what()});
        log_.error("{}: internal error: {} (please report this)", rec.id(), e.what());
        note_failure(Exit::failed);
      }
      const bool save =
          opts.save == Save::always || (opts.save == Save::if_state_exists && st.exists(rec.id()));
      try {
        if (save && ok)
          st.save(rec);
        else if (save)
          save_failed(rec);
      } catch (const Error& e) {
        log_.error("{}: saving the record: {}", rec.id(), e.what());
        note_failure(e.code());
      }
    }
    out.write(rec.dump(), rec.id());
  };

  bool cut_short = false;
  if (opts.ids || has_ids()) {
    for (const auto& id : opts.ids ? *opts.ids : ids_) {
      if (out.closed()) {
        not_worked.push_back(id);
        continue;
      }
      if (opts.missing_ok && !st.exists(id)) {
        check_vm_id(id);
        handle(Record::from_json(Json{{"v", kRecordVersion}, {"id", id}}));
        continue;
      }
      Record rec = st.load(id);
      if (rec.failed() && !opts.take_failed) {
        const Exit c = take_failed_id(rec);
        if (c != Exit::ok) {
          note_failure(c);
          out.write(rec.dump(), rec.id());  // passed on as it is, for the tools after
          continue;
        }
      }
      handle(std::move(rec));
    }
  } else {
    if (::isatty(STDIN_FILENO) == 1)
      throw Error(Exit::usage,
                  fmt::format("no records: pipe records into {} (e.g. from vmnet-alloc), or "
                              "name a VM with --id",
                              name_));
    LineReader in(
        STDIN_FILENO, kMaxLineBytes, [] { return interrupted(); }, kDrainWindow);

    std::deque<Record> queue;
    std::condition_variable cv_work, cv_space;
    bool done = false;
    std::exception_ptr worker_error;
    const unsigned jobs = std::max(1u, opts.jobs);
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < jobs; ++i) {
      workers.emplace_back([&] {
        for (;;) {
          std::unique_lock lock(mu);
          cv_work.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty()) return;
          Record rec = std::move(queue.front());
          queue.pop_front();
          cv_space.notify_one();
          lock.unlock();
          try {
            handle(std::move(rec));
          } catch (...) {
            std::lock_guard l(mu);
            if (!worker_error) worker_error = std::current_exception();
          }
        }
      });
    }
    auto finish = [&] {
      {
        std::lock_guard lock(mu);
        done = true;
      }
      cv_work.notify_all();
      for (auto& w : workers) w.join();
    };
    try {
      // Input stops being read once stdout is closed: what is still in it
      // stays with the tools before (their records are saved).
      while (!out.closed()) {
        auto rec = next_record(in, log_, note_failure);
        if (!rec) break;
        std::unique_lock lock(mu);
        cv_space.wait(lock, [&] { return queue.size() < 2 * jobs; });
        queue.push_back(std::move(*rec));
        cv_work.notify_one();
      }
    } catch (...) {
      finish();
      throw;
    }
    finish();
    if (worker_error) std::rethrow_exception(worker_error);
    cut_short = in.cut_short();
  }
  if (unprocessed > 0)
    log_.error("interrupted: {} record{} passed on unprocessed, with error 'interrupted'",
               unprocessed, unprocessed == 1 ? "" : "s");
  if (cut_short)
    log_.error(
        "interrupted: stopped reading standard input; records still in it were not "
        "passed on");
  // Interrupted wins: the run did not finish, whatever else failed.
  if (interrupted()) return static_cast<int>(Exit::interrupted);
  if (report_unreceived(out.unreceived(), not_worked) && first_failure == Exit::ok)
    first_failure = Exit::failed;
  return static_cast<int>(first_failure);
}

bool Tool::report_unreceived(const std::vector<std::string>& lost,
                             const std::vector<std::string>& not_worked) {
  if (lost.empty() && not_worked.empty()) return false;
  std::string msg = "standard output was closed (the program reading it exited): ";
  if (!lost.empty())
    msg += fmt::format("not passed on: {} (saved in '{}')", some(lost), state().vms_dir().string());
  if (!not_worked.empty())
    msg += fmt::format("{}not worked on: {}", lost.empty() ? "" : "; ", some(not_worked));
  log_.error("{}", msg);
  return true;
}

}  // namespace vmu::cli
