// Invariant checks for the fuzz harnesses.
//
// A harness fails (abort, so libFuzzer saves the input as a crash) when the code under test
// breaks a promise its header makes, not only when it crashes. Keep the checks to what the public
// headers state; a check stricter than the contract would report "bugs" nobody promised to fix.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                 \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  (%s)\n", __FILE__, __LINE__, \
                   what, #cond);                                                               \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
