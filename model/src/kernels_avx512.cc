// AVX-512 kernels (GCC on x86-64, used when the CPU has AVX-512F/CD/BW and BMI2; set
// FETAL_EVALUATOR_KERNEL=scalar to force the portable code). Models whose trees are all at most
// 6 deep get vector tables (EvaluatorLayout::BuildSimdTables), every tree laid out at the
// model's largest depth D:
// - One exam, no missing value (D <= 5): each feature value becomes its rank among that
//   feature's distinct thresholds; a tree's 31 heap nodes are then one 32-lane 16-bit compare
//   (x >= t exactly when rank(x) > index(t)), followed by a D-step walk over the bits (the first
//   three steps by table lookup).
// - One exam with a missing value (or D = 6): the tree's nodes compared as floats 16 at a time
//   (features picked from two registers by a permute), default directions applied with an
//   unordered-compare mask; for D = 6 the real splits' bits are moved to heap positions by pdep.
// - A batch: QuickScorer bit sets (Lucchese et al. 2015) over 16 exams per vector. The block is
//   transposed to columns of the expanded row; each split is one compare and one masked AND
//   clearing the leaves of its left subtree; the exit leaf is the lowest bit still set (lzcnt).
// Models 7 or 8 deep get deep tables (EvaluatorLayout::BuildDeepTables): one exam compares each
// tree's real splits 16 at a time and walks their child links over the resulting bits; a batch
// runs QuickScorer over each tree's leaves numbered left to right, 64-bit words per set.
// Results are identical to the portable kernels': the same comparisons and the same float
// additions in the same order.
#include "evaluator_layout.h"

#ifdef FETAL_HAVE_AVX512
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace fetal {
namespace internal {

#pragma GCC push_options
#pragma GCC target("avx512f,avx512cd,avx512bw,bmi2")
// GCC 12 flags the intrinsics' deliberately undefined pass-through operands.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace {

constexpr int kGroups = int(kBlockRows / 16);  // 16-exam vectors per block

// table[idx] for a table of kEntries (16, 32 or 64) values held in registers.
template <int kEntries>
inline __m512 Lookup(const __m512* table, __m512i idx) {
  if constexpr (kEntries == 16) {
    return _mm512_permutexvar_ps(idx, table[0]);
  } else if constexpr (kEntries == 32) {
    return _mm512_permutex2var_ps(table[0], idx, table[1]);
  } else {
    const __m512 low = _mm512_permutex2var_ps(table[0], idx, table[1]);
    const __m512 high = _mm512_permutex2var_ps(table[2], idx, table[3]);
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), low, high);
  }
}

// go right = x >= threshold, or x missing and the split sends missing values right.
inline __mmask16 GoRight(__m512 x, __m512 threshold, __m512i split) {
  const __mmask16 ge = _mm512_cmp_ps_mask(x, threshold, _CMP_GE_OQ);
  const __mmask16 missing = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __mmask16 default_left =
      _mm512_test_epi32_mask(split, _mm512_set1_epi32(kSimdDefaultLeftBit));
  return _kor_mask16(ge, _kandn_mask16(default_left, missing));
}

// One exam, one tree of depth kDepth.
// Depth <= 5: the 15 or 31 heap nodes compared in one or two vector compares (the features
// sit in two registers and are picked with a permute), then a kDepth-step walk over the bits.
// Depth 6: the tree's real splits compared 16 at a time, their bits moved to heap positions
// with pdep, then the walk.
template <int kDepth, bool kMissing>
inline uint64_t CompareSixteen(const int32_t* split, const float* threshold, __m512 x_low,
                               __m512 x_high) {
  const __m512i s = _mm512_loadu_si512(split);
  // permutex2var reads only the low 5 bits of each index: the feature, not the default bit.
  const __m512 x = _mm512_permutex2var_ps(x_low, s, x_high);
  const __m512 th = _mm512_loadu_ps(threshold);
  return kMissing ? GoRight(x, th, s) : _mm512_cmp_ps_mask(x, th, _CMP_GE_OQ);
}

// The node reached after three steps, for every value of the top 7 heap nodes' bits: one load
// instead of three dependent shift/and/add steps.
constexpr std::array<uint8_t, 128> ThirdLevelTable() {
  std::array<uint8_t, 128> table{};
  for (uint32_t m = 0; m < 128; ++m) {
    uint32_t i = 0;
    for (int d = 0; d < 3; ++d) i = 2 * i + 1 + ((m >> i) & 1);
    table[m] = uint8_t(i);
  }
  return table;
}
constexpr std::array<uint8_t, 128> kThirdLevel = ThirdLevelTable();

template <int kDepth>
inline float Walk(uint64_t right, const float* leaf) {
  uint32_t i = 0;
  int d = 0;
  if constexpr (kDepth >= 3) {
    i = kThirdLevel[right & 0x7f];
    d = 3;
  }
  for (; d < kDepth; ++d) i = 2 * i + 1 + uint32_t((right >> i) & 1);
  return leaf[i - ((1u << kDepth) - 1)];
}

template <int kDepth, bool kMissing, bool kRanks>
inline float SimdTreeValue(const EvaluatorLayout& layout, const EvaluatorLayout::SimdTree& t,
                           size_t k, __m512 x_low, __m512 x_high, __m512i ranks) {
  uint64_t right;
  if constexpr (kRanks) {
    const __m512i feature = _mm512_loadu_si512(layout.rank_feature.data() + 32 * k);
    const __m512i index = _mm512_loadu_si512(layout.rank_index.data() + 32 * k);
    right = _mm512_cmpgt_epu16_mask(_mm512_permutexvar_epi16(feature, ranks), index);
  } else if constexpr (kDepth == 0) {
    right = 0;
  } else if constexpr (kDepth <= 4) {
    right = CompareSixteen<kDepth, kMissing>(layout.heap_split.data() + t.heap,
                                             layout.heap_threshold.data() + t.heap, x_low, x_high);
  } else if constexpr (kDepth == 5) {
    // 31 heap nodes: two fixed vector compares beat a data-dependent chunk loop.
    const int32_t* sp = layout.heap_split.data() + t.heap;
    const float* th = layout.heap_threshold.data() + t.heap;
    right = CompareSixteen<kDepth, kMissing>(sp, th, x_low, x_high) |
            (CompareSixteen<kDepth, kMissing>(sp + 16, th + 16, x_low, x_high) << 16);
  } else {
    right = 0;
    for (uint32_t c = 0; 16 * c < t.qs_count; ++c) {
      right |= CompareSixteen<kDepth, kMissing>(layout.qs_split.data() + t.qs_nodes + 16 * c,
                                                layout.qs_threshold.data() + t.qs_nodes + 16 * c,
                                                x_low, x_high)
               << (16 * c);
    }
    right = _pdep_u64(right, t.heap_splits);
  }
  return Walk<kDepth>(right, layout.simd_leaf.data() + t.leaves);
}

template <int kDepth, bool kMissing, bool kRanks>
inline void SimdRun(const EvaluatorLayout& layout, uint32_t begin, uint32_t end, __m512 x_low,
                    __m512 x_high, __m512i ranks, float* margins) {
  const auto* trees = layout.simd_trees.data();
  uint32_t k = begin;
  if (layout.round_robin) {
    // Trees cycle through the classes (XGBoost's order): three margins stay in registers
    // instead of a read-modify-write through memory per tree. Same additions, same order.
    float m0 = margins[0], m1 = margins[1], m2 = margins[2];
    for (; k + 3 <= end; k += 3) {
      m0 += SimdTreeValue<kDepth, kMissing, kRanks>(layout, trees[k], k, x_low, x_high, ranks);
      m1 += SimdTreeValue<kDepth, kMissing, kRanks>(layout, trees[k + 1], k + 1, x_low, x_high,
                                                    ranks);
      m2 += SimdTreeValue<kDepth, kMissing, kRanks>(layout, trees[k + 2], k + 2, x_low, x_high,
                                                    ranks);
    }
    margins[0] = m0;
    margins[1] = m1;
    margins[2] = m2;
  }
  for (; k < end; ++k) {
    margins[trees[k].target_class] +=
        SimdTreeValue<kDepth, kMissing, kRanks>(layout, trees[k], k, x_low, x_high, ranks);
  }
}

template <bool kMissing, bool kRanks>
void SimdMarginsImpl(const EvaluatorLayout& layout, __m512 x_low, __m512 x_high, __m512i ranks,
                     float* margins) {
  for (int c = 0; c < kNumClasses; ++c) margins[c] = layout.base_score[c];
  const uint32_t n = uint32_t(layout.simd_trees.size());
  switch (layout.simd_depth) {
    case 0: SimdRun<0, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    case 1: SimdRun<1, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    case 2: SimdRun<2, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    case 3: SimdRun<3, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    case 4: SimdRun<4, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    case 5: SimdRun<5, kMissing, kRanks>(layout, 0, n, x_low, x_high, ranks, margins); break;
    default: SimdRun<6, kMissing, false>(layout, 0, n, x_low, x_high, ranks, margins); break;
  }
}

// A block of kBlockRows exams through every tree, QuickScorer style (Lucchese et al. 2015),
// 16 exams per vector. `columns` is the block transposed: kSlots columns of kBlockRows values
// (the expanded row, so no NaN is left). Each exam keeps a bit set of the tree's leaves (bit j
// = leaf j, left to right); every split the exam goes right at clears the leaves of the split's
// left subtree; the exit leaf is then the lowest bit still set. Every split is evaluated, but
// with one vector compare and one masked AND per 16 exams and no data-dependent loads.
void SimdBlockMargins(const EvaluatorLayout& layout, const float* columns, float* margins) {
  __m512 sums[kNumClasses][kGroups];
  for (int c = 0; c < kNumClasses; ++c) {
    for (int g = 0; g < kGroups; ++g) sums[c][g] = _mm512_set1_ps(layout.base_score[c]);
  }
  const __m512i all_ones = _mm512_set1_epi32(-1);
  for (const auto& t : layout.simd_trees) {
    const uint32_t* column = layout.qs_column.data() + t.qs_nodes;
    const float* threshold = layout.qs_threshold.data() + t.qs_nodes;
    const uint64_t* clear = layout.qs_mask.data() + t.qs_nodes;
    const float* leaf = layout.simd_leaf.data() + t.leaves;
    __m512* s = sums[t.target_class];
    if (t.depth <= 5) {
      __m512i alive[kGroups];
      for (int g = 0; g < kGroups; ++g) alive[g] = all_ones;
      for (uint32_t n = 0; n < t.qs_count; ++n) {
        const __m512 th = _mm512_set1_ps(threshold[n]);
        const __m512i keep = _mm512_set1_epi32(int32_t(uint32_t(clear[n])));
        const float* x = columns + column[n];
        for (int g = 0; g < kGroups; ++g) {
          const __mmask16 right = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + 16 * g), th, _CMP_GE_OQ);
          alive[g] = _mm512_mask_and_epi32(alive[g], right, alive[g], keep);
        }
      }
      __m512 lf[2] = {_mm512_loadu_ps(leaf), _mm512_setzero_ps()};
      if (t.depth == 5) lf[1] = _mm512_loadu_ps(leaf + 16);
      const __m512i thirty_one = _mm512_set1_epi32(31);
      for (int g = 0; g < kGroups; ++g) {
        const __m512i lowest =
            _mm512_and_si512(alive[g], _mm512_sub_epi32(_mm512_setzero_si512(), alive[g]));
        const __m512i exit_leaf = _mm512_sub_epi32(thirty_one, _mm512_lzcnt_epi32(lowest));
        s[g] = _mm512_add_ps(s[g],
                             t.depth == 5 ? Lookup<32>(lf, exit_leaf) : Lookup<16>(lf, exit_leaf));
      }
    } else {
      // 64 leaves: the bit sets take 64-bit lanes, so each group of 16 exams is two vectors.
      const __m512i all_ones64 = _mm512_set1_epi64(-1);
      __m512i low[kGroups], high[kGroups];
      for (int g = 0; g < kGroups; ++g) low[g] = high[g] = all_ones64;
      for (uint32_t n = 0; n < t.qs_count; ++n) {
        const __m512 th = _mm512_set1_ps(threshold[n]);
        const __m512i keep = _mm512_set1_epi64(int64_t(clear[n]));
        const float* x = columns + column[n];
        for (int g = 0; g < kGroups; ++g) {
          const __mmask16 right = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + 16 * g), th, _CMP_GE_OQ);
          low[g] = _mm512_mask_and_epi64(low[g], __mmask8(right), low[g], keep);
          high[g] = _mm512_mask_and_epi64(high[g], __mmask8(right >> 8), high[g], keep);
        }
      }
      const __m512 lf[4] = {_mm512_loadu_ps(leaf), _mm512_loadu_ps(leaf + 16),
                            _mm512_loadu_ps(leaf + 32), _mm512_loadu_ps(leaf + 48)};
      const __m512i sixty_three = _mm512_set1_epi64(63);
      for (int g = 0; g < kGroups; ++g) {
        const __m512i zero = _mm512_setzero_si512();
        const __m512i exit_low =
            _mm512_sub_epi64(sixty_three,
                             _mm512_lzcnt_epi64(
                                 _mm512_and_si512(low[g], _mm512_sub_epi64(zero, low[g]))));
        const __m512i exit_high =
            _mm512_sub_epi64(sixty_three,
                             _mm512_lzcnt_epi64(
                                 _mm512_and_si512(high[g], _mm512_sub_epi64(zero, high[g]))));
        const __m512i exit_leaf =
            _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(exit_low)),
                               _mm512_cvtepi64_epi32(exit_high), 1);
        s[g] = _mm512_add_ps(s[g], Lookup<64>(lf, exit_leaf));
      }
    }
  }
  alignas(64) float lanes[16];
  for (int c = 0; c < kNumClasses; ++c) {
    for (int g = 0; g < kGroups; ++g) {
      _mm512_store_ps(lanes, sums[c][g]);
      for (int l = 0; l < 16; ++l) margins[(16 * g + l) * kNumClasses + c] = lanes[l];
    }
  }
}

// One exam through the deep tables: each tree's real splits compared 16 at a time into a bit
// set (bit i: x goes right at split i), then as many steps over the nodes' children as the tree
// is deep (a leaf steps to itself; the bits past the splits are 0).
template <bool kMissing>
void DeepMarginsImpl(const EvaluatorLayout& layout, __m512 x_low, __m512 x_high, float* margins) {
  for (int c = 0; c < kNumClasses; ++c) margins[c] = layout.base_score[c];
  const int32_t* split = layout.deep_split.data();
  const float* threshold = layout.deep_threshold.data();
  for (const EvaluatorLayout::DeepTree& t : layout.deep_trees) {
    const uint16_t* links = layout.deep_child.data() + t.links;
    uint32_t k = 0;
    if (t.split_count <= 64) {
      // Nearly every tree: the bits stay in a register. (Through a stack array, each tree's
      // first load waited for the previous tree's stores, and the walks did not overlap.)
      uint64_t right = 0;
      for (uint32_t c = 0; 16 * c < t.split_count; ++c) {
        right |=
            CompareSixteen<kMaxDeepDepth, kMissing>(split + t.splits + 16 * c,
                                                    threshold + t.splits + 16 * c, x_low, x_high)
            << (16 * c);
      }
      for (int d = 0; d < t.depth; ++d) {
        k = links[2 * k + ((right >> (k & 63)) & uint64_t(k < t.split_count))];
      }
    } else {
      // Bits for every node number (splits and leaves: at most 255 + 256); past the splits, 0.
      uint64_t right[2 * (1 << kMaxDeepDepth) / 64] = {};
      for (uint32_t c = 0; 16 * c < t.split_count; ++c) {
        right[c / 4] |=
            CompareSixteen<kMaxDeepDepth, kMissing>(split + t.splits + 16 * c,
                                                    threshold + t.splits + 16 * c, x_low, x_high)
            << (16 * (c % 4));
      }
      if (t.split_count % 64 != 0) {
        right[t.split_count / 64] &= ~(~uint64_t(0) << (t.split_count % 64));
      }
      for (int d = 0; d < t.depth; ++d) k = links[2 * k + ((right[k >> 6] >> (k & 63)) & 1)];
    }
    margins[t.target_class] += layout.deep_leaf[t.leaves + k - t.split_count];
  }
}

// A block through the deep tables, QuickScorer style, 16 exams (two vectors of 64-bit sets a
// word) at a time: each entry clears, in the exams going right at its split, its left subtree's
// leaves in one word; the exit leaf is the lowest bit still set, in the first word with one.
void DeepBlockMargins(const EvaluatorLayout& layout, const float* columns, float* margins) {
  __m512 sums[kNumClasses][kGroups];
  for (int c = 0; c < kNumClasses; ++c) {
    for (int g = 0; g < kGroups; ++g) sums[c][g] = _mm512_set1_ps(layout.base_score[c]);
  }
  constexpr int kWords = (1 << kMaxDeepDepth) / 64;
  const __m512i sixty_three = _mm512_set1_epi64(63);
  for (const EvaluatorLayout::DeepTree& t : layout.deep_trees) {
    const uint32_t* column = layout.deep_entry_column.data() + t.entries;
    const float* threshold = layout.deep_entry_threshold.data() + t.entries;
    const uint32_t* word = layout.deep_entry_word.data() + t.entries;
    const uint64_t* keep = layout.deep_entry_keep.data() + t.entries;
    const float* leaf = layout.deep_leaf.data() + t.leaves;
    for (int g = 0; g < kGroups; ++g) {
      __m512i low[kWords], high[kWords];  // exams 0-7 and 8-15 of the group, per word
      for (int w = 0; w < t.words; ++w) low[w] = high[w] = _mm512_set1_epi64(-1);
      for (uint32_t n = 0; n < t.entry_count; ++n) {
        const __mmask16 right = _mm512_cmp_ps_mask(_mm512_loadu_ps(columns + column[n] + 16 * g),
                                                   _mm512_set1_ps(threshold[n]), _CMP_GE_OQ);
        const __m512i k = _mm512_set1_epi64(int64_t(keep[n]));
        low[word[n]] = _mm512_mask_and_epi64(low[word[n]], __mmask8(right), low[word[n]], k);
        high[word[n]] =
            _mm512_mask_and_epi64(high[word[n]], __mmask8(right >> 8), high[word[n]], k);
      }
      // The lowest set bit of the first word that has one, from the last word down.
      __m512i exit_low = _mm512_setzero_si512(), exit_high = _mm512_setzero_si512();
      for (int w = t.words - 1; w >= 0; --w) {
        const __m512i zero = _mm512_setzero_si512();
        const __m512i base = _mm512_set1_epi64(64 * w);
        const __m512i bit_low =
            _mm512_sub_epi64(sixty_three,
                             _mm512_lzcnt_epi64(
                                 _mm512_and_si512(low[w], _mm512_sub_epi64(zero, low[w]))));
        const __m512i bit_high =
            _mm512_sub_epi64(sixty_three,
                             _mm512_lzcnt_epi64(
                                 _mm512_and_si512(high[w], _mm512_sub_epi64(zero, high[w]))));
        exit_low =
            _mm512_mask_add_epi64(exit_low, _mm512_test_epi64_mask(low[w], low[w]), base, bit_low);
        exit_high = _mm512_mask_add_epi64(exit_high, _mm512_test_epi64_mask(high[w], high[w]), base,
                                          bit_high);
      }
      const __m512i exit_leaf =
          _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(exit_low)),
                             _mm512_cvtepi64_epi32(exit_high), 1);
      sums[t.target_class][g] =
          _mm512_add_ps(sums[t.target_class][g], _mm512_i32gather_ps(exit_leaf, leaf, 4));
    }
  }
  alignas(64) float lanes[16];
  for (int c = 0; c < kNumClasses; ++c) {
    for (int g = 0; g < kGroups; ++g) {
      _mm512_store_ps(lanes, sums[c][g]);
      for (int l = 0; l < 16; ++l) margins[(16 * g + l) * kNumClasses + c] = lanes[l];
    }
  }
}

// The expanded, transposed block the batch kernels read: column s holds slot s of every exam
// (rows past `rows`: 0).
void TransposeBlock(const float* features, size_t rows, float* columns) {
  for (size_t r = 0; r < kBlockRows; ++r) {
    float expanded[kSlots] = {};
    if (r < rows) ExpandRow(features + r * kNumFeatures, expanded);
    for (int k = 0; k < kSlots; ++k) columns[k * kBlockRows + r] = expanded[k];
  }
}

// The exam's features in two registers (0-15, 16-20), and whether one is missing.
bool LoadExam(const float* features, __m512* x_low, __m512* x_high) {
  *x_low = _mm512_loadu_ps(features);
  *x_high = _mm512_maskz_loadu_ps(__mmask16((1u << (kNumFeatures - 16)) - 1), features + 16);
  return _mm512_cmp_ps_mask(*x_low, *x_low, _CMP_UNORD_Q) != 0 ||
         _mm512_cmp_ps_mask(*x_high, *x_high, _CMP_UNORD_Q) != 0;
}

}  // namespace

void Avx512DeepMargins(const EvaluatorLayout& layout, const float* features, float* margins) {
  __m512 x_low, x_high;
  if (LoadExam(features, &x_low, &x_high)) {
    DeepMarginsImpl<true>(layout, x_low, x_high, margins);
  } else {
    DeepMarginsImpl<false>(layout, x_low, x_high, margins);
  }
}

void Avx512BlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                        float* scratch, float* margins) {
  TransposeBlock(features, rows, scratch);
  SimdBlockMargins(layout, scratch, margins);
}

void Avx512DeepBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                            float* scratch, float* margins) {
  TransposeBlock(features, rows, scratch);
  DeepBlockMargins(layout, scratch, margins);
}

void Avx512Margins(const EvaluatorLayout& layout, const float* features, float* margins) {
  __m512 x_low, x_high;
  // Most exams have no missing value; they skip the default-direction logic.
  const bool missing = LoadExam(features, &x_low, &x_high);
  const __m512i no_ranks = _mm512_setzero_si512();
  if (missing) {
    SimdMarginsImpl<true, false>(layout, x_low, x_high, no_ranks, margins);
  } else if (layout.use_ranks) {
    alignas(64) uint16_t rank[32] = {};
    for (int f = 0; f < kNumFeatures; ++f) {
      rank[f] = uint16_t(layout.FeatureRank(f, features[f]));
    }
    SimdMarginsImpl<false, true>(layout, x_low, x_high, _mm512_load_si512(rank), margins);
  } else {
    SimdMarginsImpl<false, false>(layout, x_low, x_high, no_ranks, margins);
  }
}

#pragma GCC diagnostic pop
#pragma GCC pop_options

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("bmi2");
  return has;
}

bool UseAvx512Kernels() {
  const char* kernel = std::getenv("FETAL_EVALUATOR_KERNEL");
  return CpuHasAvx512() && !(kernel && std::strcmp(kernel, "scalar") == 0);
}

}  // namespace internal
}  // namespace fetal

#endif  // FETAL_HAVE_AVX512
