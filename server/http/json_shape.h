// A linear pre-scan of a JSON request body, run before the body is parsed, that bounds how
// deep it nests and how many values it holds. nlohmann::json builds a tree whose size and
// depth follow the text: a 600 KB body nested 300,000 levels deep, or 8 MB of "[0,0,0,...]",
// would otherwise be built (and walked, copied and printed by recursive code) before any rule
// could refuse it.
//
// The scan is one loop over the bytes with a counter for the depth: it never recurses and
// allocates nothing, whatever the input. It does not validate the JSON (the parser that runs
// afterwards does); it only sees brackets and commas outside string literals.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string_view>

namespace fetal {
namespace server {

struct JsonShape {
  size_t max_depth = 0;  // deepest nesting of arrays and objects seen (stops at the limit)
  size_t items = 0;      // containers opened plus separators (',') outside strings: an upper
                         // bound on the values the parsed tree will hold, minus one
  size_t offset = 0;     // when a limit is exceeded: the byte offset where it happened
  bool too_deep = false;
  bool too_many_items = false;
};

// Scans `text`; stops at the first limit exceeded (then *shape says which and where).
// Returns true when neither limit was exceeded.
bool ScanJsonShape(std::string_view text, size_t max_depth, size_t max_items, JsonShape* shape);

}  // namespace server
}  // namespace fetal
