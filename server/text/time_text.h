// Times as the API writes and reads them: ISO 8601 UTC with milliseconds out
// ("2026-11-28T13:45:12.345Z"), ISO 8601 with a zone in.
//
// Thread-safety: no shared state (gmtime_r, timegm).
#pragma once

#include <cstdint>
#include <string>

namespace fetal {
namespace text {

// The system clock in milliseconds since the Unix epoch (UTC), the unit every stored time uses.
int64_t NowMs();

// Milliseconds since the Unix epoch -> "2026-11-28T13:45:12.345Z".
std::string FormatTime(int64_t ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" (fraction of 1 to 9 digits, read to the
// millisecond); false if malformed.
bool ParseTime(const std::string& text, int64_t* ms);

// Days since 1970-01-01 (UTC) <-> "YYYY-MM-DD" (proleptic Gregorian). ParseDay accepts exactly
// that form with a real date (no 2026-02-30); false otherwise.
std::string FormatDay(int64_t day);
bool ParseDay(const std::string& text, int64_t* day);

}  // namespace text
}  // namespace fetal
