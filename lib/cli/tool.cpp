#include "cli/tool.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/ranges.h>

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

}  // namespace

bool Tool::interrupted() {
  return g_interrupted.load();
}

Tool::Tool(std::string name, std::string summary)
    : name_(std::move(name)), app_(std::move(summary), name_), log_(name_) {
  app_.formatter(make_formatter());
  app_.set_help_flag("-h,--help", "Print this help and exit");
  app_.set_version_flag("-V,--version", fmt::format("{} (vmutils) {}", name_, kVersion),
                        "Print the version and exit");
  app_.add_flag("-v,--verbose", verbose_, "Say more on stderr (repeatable)");
  app_.add_flag("-q,--quiet", quiet_, "Errors only on stderr");
  app_.add_option("--state-dir", state_dir_,
                  "State folder (default: $VMUTILS_STATE_DIR, /var/lib/vmutils as root, "
                  "$XDG_STATE_HOME/vmutils otherwise)")
      ->type_name("DIR");
  app_.footer(
      fmt::format("Exit codes: 0 ok, 1 failed, 2 usage, 3 not ready, 4 guest failed,\n"
                  "5 resource exhausted, 130 interrupted. See {}(1).",
                  name_));
}

CLI::App* Tool::add_subcommand(const std::string& name, const std::string& summary) {
  CLI::App* sub = app_.add_subcommand(name, summary);
  sub->fallthrough();
  sub->formatter(app_.get_formatter());
  return sub;
}

void Tool::add_id_option(CLI::App* where, const std::string& help, bool many) {
  auto* opt = where->add_option("--id", ids_, help)->type_name("ID");
  if (!many) opt->expected(1);
  opt->check([](const std::string& v) -> std::string {
    return valid_vm_id(v) ? std::string()
                          : fmt::format("'{}' is not a valid VM id (1-40 of a-z, 0-9, '-')", v);
  });
}

int Tool::main(int argc, char** argv, const std::function<int()>& body) {
  install_signal_handlers();
  if (argc == 3 && std::strcmp(argv[1], "--completion") == 0) {
    try {
      std::fputs(completion_script(app_, argv[2]).c_str(), stdout);
      return 0;
    } catch (const Error& e) {
      log_.error("{}", e.what());
      return static_cast<int>(e.code());
    }
  }
  try {
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
  }
  log_.set_verbosity(quiet_ > 0 ? -1 : verbose_);
  try {
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

namespace {

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

}  // namespace

int Tool::pipeline(const std::function<void(Record&)>& fn, PipelineOptions opts) {
  const State st = state();
  LineWriter out(STDOUT_FILENO);
  std::mutex mu;
  Exit first_failure = Exit::ok;
  std::size_t unprocessed = 0;
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
  // later tool acts on it) and its saved record stays as it was.
  auto handle = [&](Record rec) {
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
          rec.set_error(
              {name_, e.code(), interrupted_here ? "interrupted" : e.reason(), e.what()});
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
    if (!out.write(rec.dump())) throw Error(Exit::failed, "standard output was closed");
  };

  bool cut_short = false;
  if (opts.ids || has_ids()) {
    for (const auto& id : opts.ids ? *opts.ids : ids_) {
      if (opts.missing_ok && !st.exists(id)) {
        check_vm_id(id);
        handle(Record::from_json(Json{{"v", kRecordVersion}, {"id", id}}));
        continue;
      }
      handle(st.load(id));
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
    try {
      for (;;) {
        auto line = in.next();
        if (!line) break;
        if (line->too_long) {
          log_.error("standard input line {}: longer than {} bytes, skipped", line->number,
                     kMaxLineBytes);
          note_failure(Exit::usage);
          continue;
        }
        try {
          Record rec = Record::parse(line->text);
          std::unique_lock lock(mu);
          cv_space.wait(lock, [&] { return queue.size() < 2 * jobs; });
          queue.push_back(std::move(rec));
          cv_work.notify_one();
        } catch (const Error& e) {
          log_.error("standard input line {}: {}", line->number, e.what());
          note_failure(e.code());
        }
      }
    } catch (...) {
      {
        std::lock_guard lock(mu);
        done = true;
      }
      cv_work.notify_all();
      for (auto& w : workers) w.join();
      throw;
    }
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv_work.notify_all();
    for (auto& w : workers) w.join();
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
  return static_cast<int>(first_failure);
}

}  // namespace vmu::cli
