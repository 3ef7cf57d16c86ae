// JSON string literals written straight into a buffer, for the hand-written hot-path writers
// (the exam JSON form). `"`, `\`, newline, carriage return and tab get their short escapes, other
// control bytes \u00XX; bytes >= 0x80 pass through unchanged (the input is UTF-8). Any JSON
// parser reads the text back as the same string.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace fetal {
namespace text {

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace text
}  // namespace fetal
