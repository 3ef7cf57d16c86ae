// The explainer's group kernel (explainer_kernel.h) with 16 lanes, for x86-64 CPUs with
// AVX-512 (GCC; chosen at Explainer::Create, see explainer.cc). Same numbers as the 4-lane
// kernel, bit for bit.
#include <cstdint>
#include <cstring>

#include "evaluator_layout.h"
#include "explainer_layout.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

// The features CpuHasAvx512() checks (evaluator_layout.h), for everything below, the kernel
// included: its functions are compiled for this target in this file.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512cd,avx512bw,bmi2")
#include "explainer_kernel.h"

// 64-byte vectors never cross a call here: the kernel is inlined.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fetal {
namespace internal {
namespace {

// The 16 lanes' expanded-row values picked from three registers (slots 0-47) by permutes.
struct Avx512GoLeft {
  using M = ShapLanes<kShapAvx512Lanes>::M;
  __m512 low, middle, high;  // slots 0-15, 16-31, 32-47
  explicit Avx512GoLeft(const float* slots) {
    alignas(64) float padded[48] = {};
    std::memcpy(padded, slots, kSlots * sizeof(float));
    low = _mm512_load_ps(padded);
    middle = _mm512_load_ps(padded + 16);
    high = _mm512_load_ps(padded + 32);
  }
  inline __attribute__((always_inline)) M operator()(const float* slot_bits,
                                                     const float* threshold) const {
    const __m512i slot = _mm512_loadu_si512(slot_bits);
    const __m512 first = _mm512_permutex2var_ps(low, slot, middle);  // reads bits 0-4 of slot
    const __m512 x =
        _mm512_mask_permutexvar_ps(first, _mm512_cmpge_epi32_mask(slot, _mm512_set1_epi32(32)),
                                   slot, high);
    const __mmask16 left = _mm512_cmp_ps_mask(x, _mm512_loadu_ps(threshold), _CMP_LT_OQ);
    return (M)_mm512_maskz_mov_epi32(left, _mm512_set1_epi32(-1));
  }
};

}  // namespace

void ExplainGroupsAvx512(const ExplainerLayout& layout, const float* slots, float* out) {
  ExplainGroups<kShapAvx512Lanes>(layout, Avx512GoLeft(slots), out);
}

}  // namespace internal
}  // namespace fetal

#pragma GCC pop_options

#endif
