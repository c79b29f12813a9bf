#include <catch2/catch.hpp>

#include "cli/log.hpp"

using vmu::cli::quote_controls;

TEST_CASE("control characters are quoted for the terminal") {
  CHECK(quote_controls("plain text, 'quoted' / ok") == "plain text, 'quoted' / ok");
  CHECK(quote_controls("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(quote_controls("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(quote_controls(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(quote_controls("del\x7f") == "del\\x7f");
  // UTF-8 stays; C1 controls (CSI as U+009B) and stray bytes are quoted.
  CHECK(quote_controls("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(quote_controls("\xc2\x9b"
                       "31m") == "\\xc2\\x9b31m");
  CHECK(quote_controls("\xff\xfe") == "\\xff\\xfe");
  CHECK(quote_controls("\xc3") == "\\xc3");                    // cut short
  CHECK(quote_controls("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(quote_controls("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
}
