// strtod for the WebAssembly build: the numbers of a model bundle's JSON header (nlohmann's
// parser calls strtod for each) are converted by fetal::internal::ParsePlainDecimal, in double
// and 64-bit integer arithmetic, and everything else by musl's strtod. musl's works in 128-bit long
// double, which WebAssembly runs as software floating point: at a cold page load it was the largest
// part of reading the default bundle. Both round correctly, so every value is the same double.
// wasm/CMakeLists.txt links with --wrap=strtod: calls to strtod come here, and __real_strtod
// is musl's.
#include <cstdlib>

#include "plain_decimal.h"

extern "C" double __real_strtod(const char* text, char** end);

extern "C" double __wrap_strtod(const char* text, char** end) {
  double value;
  const char* after;
  if (!fetal::internal::ParsePlainDecimal(text, &value, &after)) return __real_strtod(text, end);
  if (end) *end = const_cast<char*>(after);
  return value;
}
