// Short excerpts of client input for error messages: an error names the bad value but never
// copies it whole, so a refused request cannot make the answer (or the audit event) as large as
// itself.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fetal {
namespace text {

inline constexpr size_t kExcerptBytes = 64;

// `s` when it has at most `max_bytes` bytes, else its first bytes (cut at a UTF-8 character
// boundary) followed by "...".
std::string Excerpt(std::string_view s, size_t max_bytes = kExcerptBytes);

}  // namespace text
}  // namespace fetal
