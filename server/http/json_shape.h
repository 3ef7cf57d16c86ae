// A linear pre-scan of a JSON request body, run before the body is parsed, that bounds how
// deep it nests, how many values it holds and how long a string in it is. nlohmann::json builds
// a tree whose size and depth follow the text: a 600 KB body nested 300,000 levels deep, or
// 8 MB of "[0,0,0,...]" (a tree ten times the text), would otherwise be built (and walked,
// copied and printed by recursive code) before any rule could refuse it; and its parser holds a
// string three times over while reading it.
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
  bool string_too_long = false;
};

struct JsonLimits {
  size_t max_depth;         // arrays and objects nested in each other
  size_t max_items;         // see JsonShape::items
  size_t max_string_bytes;  // between the quotes of a string literal, escapes as written
};

// Scans `text`; stops at the first limit exceeded (then *shape says which and where).
// Returns true when no limit was exceeded.
bool ScanJsonShape(std::string_view text, const JsonLimits& limits, JsonShape* shape);

}  // namespace server
}  // namespace fetal
