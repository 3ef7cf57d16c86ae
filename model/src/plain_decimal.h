// Correctly rounded decimal-to-double conversion of the numbers JSON writers print: one double
// operation on exact operands where that suffices (Clinger's fast path), 64-bit integer
// arithmetic over 32-bit limbs otherwise. In the WebAssembly build it answers strtod for the
// numbers it takes (wasm/src/strtod_fast_path.cc): musl's strtod computes in 128-bit long double,
// which WebAssembly runs as software floating point, and a model header holds hundreds of numbers.
// Internal to the model library.
#pragma once

namespace fetal {
namespace internal {

// Reads a number of the form  -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,4})?  at `text`, with at
// most 19 significant digits and, once the decimal point is moved past the last digit, a
// decimal exponent in [-19, 19]. On success sets *value to the double nearest to it (ties to
// even; -0 for a negative zero), *end past its last character, and returns true: exactly what
// a correctly rounding strtod gives. Returns false, changing nothing, for anything else
// (leading space or '+', "1.", ".5", hexadecimal, inf/nan, more digits, a larger exponent).
// `text` must be NUL-terminated (or otherwise end in a character that is not part of a number).
bool ParsePlainDecimal(const char* text, double* value, const char** end);

}  // namespace internal
}  // namespace fetal
