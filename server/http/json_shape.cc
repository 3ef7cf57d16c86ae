#include "http/json_shape.h"

namespace fetal {
namespace server {

bool ScanJsonShape(std::string_view text, size_t max_depth, size_t max_items, JsonShape* shape) {
  JsonShape s;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        ++depth;
        ++s.items;
        if (depth > s.max_depth) s.max_depth = depth;
        if (depth > max_depth) {
          s.too_deep = true;
          s.offset = i;
          *shape = s;
          return false;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced input is the parser's to refuse
        break;
      case ',': ++s.items; break;
      default: break;
    }
    if (s.items > max_items) {
      s.too_many_items = true;
      s.offset = i;
      *shape = s;
      return false;
    }
  }
  *shape = s;
  return true;
}

}  // namespace server
}  // namespace fetal
