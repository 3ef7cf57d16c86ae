// What the server accepts is what it can store and read back exactly, on SQLite and on
// PostgreSQL, and re-hash to the same value (docs/api.md "Strings and numbers"):
//
// - strings: valid UTF-8 without control characters other than tab, line feed and carriage
//   return. PostgreSQL text cannot hold NUL (libpq passes parameters as C strings, so a NUL
//   would cut the value short after its hash covered all of it), and the other control
//   characters have no place in a name, a reference or a note;
// - numbers: finite, and zero or normal (magnitude >= 2.2250738585072014e-308). A subnormal
//   number has fewer significant bits than a double, and readers of the stored text disagree
//   about it (C's strtod flags it as an underflow).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fetal {
namespace text {

// True when `s` may be stored; otherwise *bad_offset (when non-null) is the byte offset of the
// first offending character.
bool IsStorableText(std::string_view s, size_t* bad_offset = nullptr);

// A sentence naming what is wrong with `s` at `offset` ("a NUL character at byte 12",
// "invalid UTF-8 at byte 3"), for error messages. Precondition: !IsStorableText(s, &offset).
const char* UnstorableTextReason(std::string_view s, size_t offset);

// `s` with every character IsStorableText refuses replaced by '?': for recording text that
// came from outside (a loader's message quoting a file) where a refusal is not an option.
std::string StorableCopy(std::string_view s);

// True for finite numbers that are zero or normal.
bool IsStorableNumber(double v);

}  // namespace text
}  // namespace fetal
