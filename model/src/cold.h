// FETAL_COLD marks code that runs once per model load on a few values (header fields, whole-model
// checks), never per node: not inlined, and under clang (the WebAssembly build) optimized for
// size, so the module stays within its size budget while the per-node loops stay -O3.
#pragma once

#if defined(__clang__)
#define FETAL_COLD __attribute__((noinline, minsize))
#else
#define FETAL_COLD __attribute__((noinline))
#endif
