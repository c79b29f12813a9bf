// Option checks shared by every tool, so that --help reads the same and a
// bad value is refused the same way everywhere: "--vcpus: '0' is not a
// number from 1 to 32" (exit 2). None of them adds text to --help (CLI11's
// own checks print "N:UINT in [1 - 4096]"); an option says its default in
// its description, "(default: X)", or with capture_default_str(), which the
// help formatter renders the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vmu::cli {

// A whole number from `lo` to `hi`, digits only (CLI11 alone turned -1 into
// 2^64-1).
CLI::Validator range(std::uint64_t lo, std::uint64_t hi);

// One of `words`. The completions of all three shells offer the words
// (choices_of), so enumerated values complete without a second list.
CLI::Validator one_of(std::vector<std::string> words);

// A size: bytes, or a number with K, M, G or T (binary; "KiB"/"KB" too),
// e.g. 2G, 1536M; a whole number of `multiple` bytes (parse_size).
CLI::Validator size(std::uint64_t multiple = 1024);

// A duration as lib/util/duration reads it (parse_duration, the one
// parser): "90" (a bare number is `bare_unit`, seconds unless said),
// "90s", "1500ms", "2m", "1h", from `lo` to `hi`. Tools read the value with
// parse_duration(text, "--name", bare_unit) once it has passed. Its
// options are written DURATION in --help, with the default as given
// ("120s").
CLI::Validator duration(std::chrono::milliseconds lo = std::chrono::milliseconds(0),
                        std::chrono::milliseconds hi = std::chrono::hours(24 * 30),
                        std::chrono::milliseconds bare_unit = std::chrono::seconds(1));

// An environment variable's name, as the env file and --env take it
// (inject::valid_env_key): the --redact KEY options.
CLI::Validator env_key();

// The words of a one_of check on `opt`; empty when it has none.
std::vector<std::string> choices_of(const CLI::Option* opt);

// "did you mean": the candidates closest to `word` (edit distance at most a
// third of its length, at least 1; or that it is a prefix of), best first.
std::vector<std::string> closest(const std::string& word,
                                 const std::vector<std::string>& candidates);

}  // namespace vmu::cli
