#include "diagnose/lines.hpp"

namespace vmu::diagnose {

namespace {

// Length of a valid UTF-8 sequence starting at s[i], 0 when invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  unsigned cp = b0 & (0xFFu >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string clean_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0x1B) {  // ESC
      if (i + 1 >= n) break;
      const char k = s[i + 1];
      if (k == '[') {  // CSI: parameters, intermediates, one final byte
        std::size_t j = i + 2;
        while (j < n && static_cast<unsigned char>(s[j]) >= 0x20 &&
               static_cast<unsigned char>(s[j]) <= 0x3F)
          ++j;
        if (j < n && static_cast<unsigned char>(s[j]) >= 0x40 &&
            static_cast<unsigned char>(s[j]) <= 0x7E)
          ++j;
        i = j;
      } else if (k == ']' || k == 'P' || k == 'X' || k == '^' || k == '_') {
        // A string up to BEL (OSC only) or ST (ESC \); unterminated: to the end.
        std::size_t j = i + 2;
        while (j < n) {
          if (s[j] == '\a' && k == ']') {
            ++j;
            break;
          }
          if (s[j] == '\x1b' && j + 1 < n && s[j + 1] == '\\') {
            j += 2;
            break;
          }
          ++j;
        }
        i = j;
      } else if (k == '(' || k == ')' || k == '*' || k == '+' || k == '#' || k == '%') {
        i += 3;  // charset designation and friends: ESC ( B
      } else {
        i += 2;  // ESC M, ESC 7, ESC c, ...
      }
      continue;
    }
    if (c == '\t') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c >= 0x80 && c <= 0x9F) {  // C1 controls are not valid UTF-8 lead bytes
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const std::size_t len = utf8_len(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace vmu::diagnose
