#include "http/json_shape.h"

namespace fetal {
namespace server {

bool ScanJsonShape(std::string_view text, const JsonLimits& limits, JsonShape* shape) {
  JsonShape s;
  size_t depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  auto stop = [&](bool* which, size_t at) {
    *which = true;
    s.offset = at;
    *shape = s;
    return false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
        continue;
      }
      if (c == '\\') ++i;  // the escaped character cannot end the string
      if (i - string_start > limits.max_string_bytes) return stop(&s.string_too_long, string_start);
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i;
        break;
      case '[':
      case '{':
        ++depth;
        ++s.items;
        if (depth > s.max_depth) s.max_depth = depth;
        if (depth > limits.max_depth) return stop(&s.too_deep, i);
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced input is the parser's to refuse
        break;
      case ',': ++s.items; break;
      default: break;
    }
    if (s.items > limits.max_items) return stop(&s.too_many_items, i);
  }
  *shape = s;
  return true;
}

}  // namespace server
}  // namespace fetal
