#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "evidence/redact.hpp"

using namespace vmu::evidence;

namespace {

const std::vector<RedactRule> kRules = {{"s3cr3t-token-XYZ", "[redacted:TOKEN]"},
                                        {"hunter22", "[redacted:PASS]"}};

std::string chunked(const std::vector<RedactRule>& rules, std::string_view text,
                    const std::vector<std::size_t>& cuts) {
  Redactor r(rules);
  std::string out;
  std::size_t at = 0;
  for (std::size_t c : cuts) {
    r.feed(text.substr(at, c - at), out);
    at = c;
  }
  r.feed(text.substr(at), out);
  r.finish(out);
  return out;
}

}  // namespace

TEST_CASE("env_values: raw and unquoted forms, last assignment wins") {
  auto v = env_values(
      "# comment\nPATH=/usr/bin\nSESSION_ID=abc123def\nQUOTED=\"a b\\\"c\"\n"
      "SINGLE='x y'\n  export EXP=val1\nSESSION_ID=second-value\nbad line\n9X=no\n");
  CHECK(v["SESSION_ID"] == std::vector<std::string>{"second-value"});
  CHECK(v["QUOTED"] == std::vector<std::string>{"\"a b\\\"c\"", "a b\"c"});
  CHECK(v["SINGLE"] == std::vector<std::string>{"'x y'", "x y"});
  CHECK(v["EXP"] == std::vector<std::string>{"val1"});
  CHECK(v.count("9X") == 0);
}

TEST_CASE("make_rules: short values, absent keys") {
  auto values = env_values("LONG=abcdefgh\nSHORT=on\nEMPTY=\n");
  RuleSet rs = make_rules({"LONG", "SHORT", "EMPTY", "NONE"}, values);
  CHECK(rs.keys == std::vector<std::string>{"LONG", "SHORT"});
  CHECK(rs.short_ == std::vector<std::string>{"SHORT"});
  CHECK(rs.absent == std::vector<std::string>{"EMPTY", "NONE"});
  const std::string text = "LONG=abcdefgh; abcdefgh; SHORT=on; turned on; SHORT=only";
  CHECK(redact(rs.rules, text) ==
        "LONG=[redacted:LONG]; [redacted:LONG]; SHORT=[redacted:SHORT]; turned on; "
        "SHORT=[redacted:SHORT]ly");
}

TEST_CASE("Redactor: every occurrence, whole text") {
  std::uint64_t n = 0;
  CHECK(redact(kRules, "a s3cr3t-token-XYZ b hunter22 c s3cr3t-token-XYZs3cr3t-token-XYZ", &n) ==
        "a [redacted:TOKEN] b [redacted:PASS] c [redacted:TOKEN][redacted:TOKEN]");
  CHECK(n == 4);
  CHECK(redact({}, "nothing to do") == "nothing to do");
  CHECK(redact(kRules, "") == "");
  CHECK(redact(kRules, "s3cr3t-token-XY") == "s3cr3t-token-XY");  // a prefix only
}

TEST_CASE("Redactor: a value split at every position of two reads") {
  const std::string text = "xx s3cr3t-token-XYZ yy hunter22 zz";
  const std::string want = "xx [redacted:TOKEN] yy [redacted:PASS] zz";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK(chunked(kRules, text, {cut}) == want);
  }
}

TEST_CASE("Redactor: one byte per read, and random chunkings") {
  const std::string text = "hunter2hunter22s3cr3t-token-XYZhunter22\nline s3cr3t-token-XYZ\n";
  const std::string want =
      "hunter2[redacted:PASS][redacted:TOKEN][redacted:PASS]\nline "
      "[redacted:TOKEN]\n";
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < text.size(); ++i) every.push_back(i);
  CHECK(chunked(kRules, text, every) == want);
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    while (true) {
      at += std::uniform_int_distribution<std::size_t>(0, 9)(rng);
      if (at >= text.size()) break;
      cuts.push_back(at);
    }
    CHECK(chunked(kRules, text, cuts) == want);
  }
}

TEST_CASE("Redactor: buffer edges of a large stream") {
  // The secret straddles every 64 KiB boundary of a reader's buffer.
  const std::string secret = "s3cr3t-token-XYZ";
  std::string text;
  for (int i = 0; i < 8; ++i) {
    text += std::string(65536 - secret.size() / 2 - (i % 3), 'a');
    text += secret;
  }
  std::vector<std::size_t> cuts;
  for (std::size_t c = 65536; c < text.size(); c += 65536) cuts.push_back(c);
  const std::string out = chunked(kRules, text, cuts);
  CHECK(out.find(secret) == std::string::npos);
  CHECK(out.find("[redacted:TOKEN]") != std::string::npos);
  CHECK(out.size() == text.size() + 8 * (std::string("[redacted:TOKEN]").size() - secret.size()));
}

TEST_CASE("Redactor: holds back less than the longest needle") {
  Redactor r(kRules);
  std::string out;
  r.feed(std::string(1000, 'q') + "s3cr3t-to", out);
  CHECK(r.held() < std::string("s3cr3t-token-XYZ").size());
  CHECK(out.find("s3cr3t") == std::string::npos);
  r.feed("ken-XYZ tail", out);
  r.finish(out);
  CHECK(out == std::string(1000, 'q') + "[redacted:TOKEN] tail");
}

TEST_CASE("Redactor: overlapping and nested secrets never pass whole") {
  const std::vector<RedactRule> rules = {{"abcdef", "[A]"}, {"cdefgh", "[B]"}, {"abcdefgh", "[C]"}};
  CHECK(redact(rules, "xabcdefghx") == "x[C]x");  // the longest at the same start
  CHECK(redact(rules, "xabcdefx cdefghx") == "x[A]x [B]x");
  const std::vector<RedactRule> self = {{"aaaa", "[R]"}};
  CHECK(redact(self, "aaaaaaaaa") == "[R][R]a");
  CHECK(chunked(self, "aaaaaaaaa", {3, 5, 7}) == "[R][R]a");
}

TEST_CASE("redact_env_file: every value of the keys, whatever its length") {
  CHECK(redact_env_file("PATH=/bin\nSESSION_ID=x\nA=\"q q\"\n  OTHER=1\nno newline=y",
                        {"SESSION_ID", "A"}) ==
        "PATH=/bin\nSESSION_ID=[redacted:SESSION_ID]\nA=[redacted:A]\n  OTHER=1\nno newline=y");
  CHECK(redact_env_file("K=v", {"K"}) == "K=[redacted:K]");
}
