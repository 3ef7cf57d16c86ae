// The text forms of numbers that the server writes, in one place.
//
// Two machine forms, each exact: the shortest text that reads back as the same double (JSON
// responses and the idempotency form of an exam) and 17 significant digits, what
// printf("%.17g") prints (the stored and hashed canonical form, docs/storage.md, so any language
// recomputes it). Both round-trip every finite double. One human form for messages.
//
// Thread-safety: pure functions. No locale is consulted (std::to_chars), so the text never
// changes with the environment.
#pragma once

#include <cstdint>
#include <string>

namespace fetal {
namespace text {

// Shortest round-trip text: 120 -> "120", 0.1 -> "0.1", 1e-7 -> "1e-07". Non-finite -> "null"
// (JSON has no NaN or infinity).
void AppendShortest(double v, std::string* out);

// Exactly printf("%.17g"): 0.1 -> "0.10000000000000001", 120 -> "120".
void AppendPrecise(double v, std::string* out);
std::string Precise(double v);

void AppendInt(int64_t v, std::string* out);

// For sentences and labels a person reads: printf("%g") (6 significant digits), 0.25 -> "0.25".
std::string Readable(double v);

// For tables a person reads: printf("%.*f", decimals, v), 0.12345 with 3 -> "0.123".
// Non-finite -> "-".
std::string Fixed(double v, int decimals);

}  // namespace text
}  // namespace fetal
