// WebAssembly SIMD128 kernels (the wasm build), for models of trees at most 8 deep
// (kMaxLevelTreeDepth), tree k adding to class k % 3, at most 255 distinct thresholds per
// feature (every XGBoost multiclass model at its common settings): each feature value becomes
// its 8-bit rank, and every tree is laid out as a depth-5 or depth-6 heap (its group's deepest
// tree) in "level tables", 16 trees per group, one byte lane per tree
// (EvaluatorLayout::BuildWasmLevelTables); a tree splitting below depth 6 walks on from there.
// - One exam: the 16 trees of a group walk level by level at once; for the first five levels
//   each lane's node is picked among the level's node vectors by a bitselect tree on the lane's
//   path so far, its feature rank by i8x16.swizzle, and one u8 compare decides the 16 steps; a
//   sixth level gathers each lane's node byte by byte (v128.load8_lane), then the same compare.
// - A batch of a model whose tables are 5 deep: QuickScorer over 16 exams per vector, one tree
//   at a time, byte-plane leaf sets. Deeper models take the one-exam walk two exams at a time:
//   each table vector is loaded once for both, and their independent dependency chains overlap.
// A missing value ranks 255 (right of every split) for splits sending it right, 0 for the
// others. Results are identical to the portable kernels': the same comparisons and the same
// float additions in the same order.
#include "evaluator_layout.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>

#include <cmath>
#include <cstdint>

namespace fetal {
namespace internal {
namespace {

// Byte lane i: rank[slot_i], from the 48-byte rank array held in three registers (swizzle
// lanes whose index is past its register read 0).
inline v128_t PickRanks(const v128_t* rank, v128_t slot) {
  const v128_t sixteen = wasm_i8x16_splat(16);
  const v128_t second = wasm_i8x16_sub(slot, sixteen);
  const v128_t third = wasm_i8x16_sub(second, sixteen);
  return wasm_v128_or(wasm_v128_or(wasm_i8x16_swizzle(rank[0], slot),
                                   wasm_i8x16_swizzle(rank[1], second)),
                      wasm_i8x16_swizzle(rank[2], third));
}

// Orders the unrolled kernels' table loads for V8: a store of a value computed so far, after
// which the next loads must come (memory effects keep their order). Without it TurboFan
// schedules every load of the loop body first, and spills and reloads them: a load becomes
// three memory operations.
alignas(16) v128_t g_load_order;
inline void LoadBarrier(v128_t computed) {
  *static_cast<volatile v128_t*>(&g_load_order) = computed;
}

// x < the split's threshold, i.e. rank(x) <= the threshold's index: the exam goes left.
// (u8x16.le is two instructions on x64, u8x16.gt three.)
inline v128_t GoesLeft(v128_t rank, v128_t index) { return wasm_u8x16_le(rank, index); }

// Sixteen trees, one per byte lane, walked through the first kLevelDepth levels for kExams
// exams at once (each table vector loaded once for all of them). At level L lane t stands at
// position p_t = (b_0 ... b_{L-1}) in binary, b_j its go-right bits so far; the node's slot and
// threshold index are picked among the level's 2^L node vectors by a bitselect tree on those
// bits, b_0 first (so only the last bitselect waits for the level above), then one
// swizzle-and-compare gives b_L for all 16 trees (held inverted, as go-left masks). Unrolled.
template <int kExams>
inline void WasmLevels(const uint8_t* slot, const uint8_t* index, const v128_t (*rank)[3],
                       v128_t (*left)[kLevelDepth]) {
#pragma clang loop unroll(full)
  for (int level = 0; level < kLevelDepth; ++level) {
#pragma clang loop unroll(full)
    for (int e = 0; e < kExams; ++e) {
      if (level > 0) LoadBarrier(left[e][level - 1]);
    }
    const int first = (1 << level) - 1;
    v128_t s[kExams][1 << (kLevelDepth - 1)], x[kExams][1 << (kLevelDepth - 1)];
#pragma clang loop unroll(full)
    for (int p = 0; p < (1 << level); ++p) {
      const v128_t sp = wasm_v128_load(slot + kLevelLanes * (first + p));
      const v128_t xp = wasm_v128_load(index + kLevelLanes * (first + p));
#pragma clang loop unroll(full)
      for (int e = 0; e < kExams; ++e) {
        s[e][p] = sp;
        x[e][p] = xp;
      }
    }
#pragma clang loop unroll(full)
    for (int e = 0; e < kExams; ++e) {
#pragma clang loop unroll(full)
      for (int j = 0; j < level; ++j) {
        const int half = 1 << (level - 1 - j);
#pragma clang loop unroll(full)
        for (int q = 0; q < half; ++q) {
          s[e][q] = wasm_v128_bitselect(s[e][q], s[e][q + half], left[e][j]);
          x[e][q] = wasm_v128_bitselect(x[e][q], x[e][q + half], left[e][j]);
        }
      }
      left[e][level] = GoesLeft(PickRanks(rank[e], s[e][0]), x[e][0]);
    }
  }
}

// Go-left masks of the level below the first kLevelDepth ones (the last of a group
// kMaxLevelDepth deep), `at` holding each lane's position there: each lane's node slot and
// threshold index gathered one byte at a time (the node is kLevelLanes * position + lane bytes
// into the level), then one swizzle-and-compare. Picking among the level's 32 node vectors by
// bitselect, as the levels above do, takes V8 about twice the instructions, and spills.
inline v128_t WasmBottomLevel(const uint8_t* slot, const uint8_t* index, const v128_t* rank,
                              v128_t at) {
  v128_t s = wasm_i8x16_splat(0), x = s;
#define FETAL_GATHER(t)                                                \
  do {                                                                 \
    const size_t n = kLevelLanes * wasm_u8x16_extract_lane(at, t) + t; \
    s = wasm_v128_load8_lane(slot + n, s, t);                          \
    x = wasm_v128_load8_lane(index + n, x, t);                         \
  } while (0)
  FETAL_GATHER(0);
  FETAL_GATHER(1);
  FETAL_GATHER(2);
  FETAL_GATHER(3);
  FETAL_GATHER(4);
  FETAL_GATHER(5);
  FETAL_GATHER(6);
  FETAL_GATHER(7);
  FETAL_GATHER(8);
  FETAL_GATHER(9);
  FETAL_GATHER(10);
  FETAL_GATHER(11);
  FETAL_GATHER(12);
  FETAL_GATHER(13);
  FETAL_GATHER(14);
  FETAL_GATHER(15);
#undef FETAL_GATHER
  return GoesLeft(PickRanks(rank, s), x);
}

// Each lane's leaf (0 .. 2^depth - 1) in a group of depth kLevelDepth or kMaxLevelDepth, for
// each of kExams exams.
template <int kExams>
inline void WasmLevelLeaves(const uint8_t* slot, const uint8_t* index, const v128_t (*rank)[3],
                            int depth, v128_t* leaf) {
  v128_t left[kExams][kLevelDepth];
  WasmLevels<kExams>(slot, index, rank, left);
#pragma clang loop unroll(full)
  for (int e = 0; e < kExams; ++e) {
    // Bit kLevelDepth - 1 - L of the position is level L's go-right bit.
    leaf[e] = wasm_i8x16_splat(0);
    for (int level = 0; level < kLevelDepth; ++level) {
      leaf[e] =
          wasm_v128_or(leaf[e],
                       wasm_v128_andnot(wasm_i8x16_splat(int8_t(1 << (kLevelDepth - 1 - level))),
                                        left[e][level]));
    }
  }
  if (depth > kLevelDepth) {
    const size_t bottom = kLevelLanes * kLevelNodes;
#pragma clang loop unroll(full)
    for (int e = 0; e < kExams; ++e) {
      const v128_t left_bottom = WasmBottomLevel(slot + bottom, index + bottom, rank[e], leaf[e]);
      leaf[e] = wasm_v128_or(wasm_i8x16_add(leaf[e], leaf[e]),
                             wasm_v128_andnot(wasm_i8x16_splat(1), left_bottom));
    }
  }
}

constexpr size_t kLevelSlots = 48;  // 2 * kNumFeatures slots, padded to three registers

// An exam's ranks for the level tables, rank[s * stride] for slot s: slot f holds feature f's
// rank, a missing value 255 (right of every threshold: indices are <= 254); slot
// kNumFeatures + f (splits sending missing values left) the same rank, a missing value 0.
inline void ExamRanks(const EvaluatorLayout& layout, const float* features, uint8_t* rank,
                      size_t stride) {
  for (int f = 0; f < kNumFeatures; ++f) {
    const float x = features[f];
    const bool missing = std::isnan(x);
    const uint8_t r = missing ? 0 : uint8_t(layout.FeatureRank(f, x));
    rank[f * stride] = missing ? 255 : r;
    rank[(kNumFeatures + f) * stride] = r;
  }
}

// An exam's ranks as three vectors and, where some tree is deeper than the tables, its expanded
// row for the walk. Not inlined, as AddGroupLeaves: one copy serves the one-exam and the
// two-exam walk (module size).
__attribute__((noinline)) void ExamStart(const EvaluatorLayout& layout, const float* features,
                                         v128_t* rank, float* slots) {
  alignas(16) uint8_t rank_bytes[kLevelSlots] = {};
  ExamRanks(layout, features, rank_bytes, 1);
  rank[0] = wasm_v128_load(rank_bytes);
  rank[1] = wasm_v128_load(rank_bytes + 16);
  rank[2] = wasm_v128_load(rank_bytes + 32);
  if (!layout.level_deep.empty()) ExpandRow(features, slots);
}

// Adds group g's leaves, `leaves` holding each lane's leaf, to an exam's sums: acc[j] holds
// class (g + j) % 3 during group g (lane t of group g is tree 16g + t, class (g + t) % 3), and
// is left holding class (g + 1 + j) % 3 for the next group; each class adds its leaves in tree
// order.
__attribute__((noinline)) void AddGroupLeaves(const EvaluatorLayout& layout,
                                              const EvaluatorLayout::LevelGroup& g, v128_t leaves,
                                              const float* slots, float* acc) {
  alignas(16) uint8_t at[kLevelLanes];
  wasm_v128_store(at, leaves);
  const float* leaf = layout.level_leaf.data() + g.leaves;
  float v[kLevelLanes];
  for (size_t t = 0; t < kLevelLanes; ++t) v[t] = leaf[(t << g.depth) + at[t]];
  if (g.deep) {
    // Trees deeper than the tables walk their nodes from there, on the expanded row.
    const uint32_t* deep = layout.level_deep.data() + g.leaves;
    for (size_t t = 0; t < kLevelLanes; ++t) {
      const uint32_t d = deep[(t << g.depth) + at[t]];
      if (d != 0) v[t] = EvaluatorLayout::Walk(layout.nodes.data() + (d - 1), slots);
    }
  }
  float acc0 = acc[0], acc1 = acc[1], acc2 = acc[2];
  acc0 += v[0];
  acc1 += v[1];
  acc2 += v[2];
  acc0 += v[3];
  acc1 += v[4];
  acc2 += v[5];
  acc0 += v[6];
  acc1 += v[7];
  acc2 += v[8];
  acc0 += v[9];
  acc1 += v[10];
  acc2 += v[11];
  acc0 += v[12];
  acc1 += v[13];
  acc2 += v[14];
  acc0 += v[15];
  acc[0] = acc1;
  acc[1] = acc2;
  acc[2] = acc0;
}

// kExams exams (kNumFeatures floats each, consecutive) through every tree with the level
// tables, each exam's sums added as for that exam alone.
template <int kExams>
inline void LevelMargins(const EvaluatorLayout& layout, const float* features, float* margins) {
  v128_t rank[kExams][3];
  float slots[kExams][kSlots];
  float acc[kExams][3];
  for (int e = 0; e < kExams; ++e) {
    ExamStart(layout, features + e * kNumFeatures, rank[e], slots[e]);
    for (int c = 0; c < 3; ++c) acc[e][c] = layout.base_score[c];
  }
  for (const EvaluatorLayout::LevelGroup& g : layout.level_groups) {
    v128_t leaves[kExams];
    WasmLevelLeaves<kExams>(layout.level_slot.data() + g.nodes, layout.level_index.data() + g.nodes,
                            rank, int(g.depth), leaves);
#pragma clang loop unroll(full)
    for (int e = 0; e < kExams; ++e) AddGroupLeaves(layout, g, leaves[e], slots[e], acc[e]);
  }
  const size_t groups = layout.level_groups.size();
  for (int e = 0; e < kExams; ++e) {
    for (int c = 0; c < 3; ++c) margins[e * kNumClasses + (groups + c) % kNumClasses] = acc[e][c];
  }
}

}  // namespace

// Not inlined into WasmLevelBlockMargins' odd last exam: one copy in the module.
__attribute__((noinline)) void WasmLevelMargins(const EvaluatorLayout& layout,
                                                const float* features, float* margins) {
  LevelMargins<1>(layout, features, margins);
}

void WasmLevelBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                           float* margins) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    LevelMargins<2>(layout, features + r * kNumFeatures, margins + r * kNumClasses);
  }
  if (r < rows) WasmLevelMargins(layout, features + r * kNumFeatures, margins + r * kNumClasses);
}

namespace {

// The batch kernel on the level tables: QuickScorer (Lucchese et al. 2015) over 8-bit feature
// ranks, 16 exams per vector, one byte lane per exam.
// Each tree is its complete depth-5 heap: every node (padding ones too: all leaves under them
// hold the same value) is one u8 compare of the exams' ranks with its threshold index, and
// clears the leaves of its left subtree in the exams going right (plane &= go_left | ~mask).
// The 32 leaf bits sit in four byte planes; a node's left subtree lies within one plane (two
// for the root), so its planes and masks are constants of its heap position. The exit leaf is
// the lowest bit still set. Trees are taken class by class, each class in tree order, so every
// sum adds the same values in the same order as the other kernels. (Four planes stay in
// registers; two vectors of exams per pass, eight planes, spill and run slower in V8.)
constexpr size_t kRankBlock = kBlockRows;

struct NodeMasks {
  uint8_t mask[kLevelNodes][4];  // per heap node: its left subtree's leaves in each byte plane
};
constexpr NodeMasks LeftLeafMasks() {
  NodeMasks m{};
  for (int level = 0, i = 0; level < kLevelDepth; ++level) {
    const int span = int(kLevelLeaves) >> level;
    for (int p = 0; p < (1 << level); ++p, ++i) {
      for (int leaf = p * span; leaf < p * span + span / 2; ++leaf) {
        m.mask[i][leaf / 8] = uint8_t(m.mask[i][leaf / 8] | (1 << (leaf % 8)));
      }
    }
  }
  return m;
}
constexpr NodeMasks kLeftLeaves = LeftLeafMasks();

// Bytes 0-7 (Low) or 8-15 (High) of a and b interleaved: a0 b0 a1 b1 ...
inline v128_t InterleaveLow(v128_t a, v128_t b) {
  return wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
inline v128_t InterleaveHigh(v128_t a, v128_t b) {
  return wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

// Adds tree values to the sums of 16 exams (four f32x4): planes[q] holds leaf bits 8q..8q+7.
inline void AddExitLeaves(const v128_t* planes, const float* leaf, v128_t* sums) {
  const v128_t low01 = InterleaveLow(planes[0], planes[1]);
  const v128_t high01 = InterleaveHigh(planes[0], planes[1]);
  const v128_t low23 = InterleaveLow(planes[2], planes[3]);
  const v128_t high23 = InterleaveHigh(planes[2], planes[3]);
  const v128_t sets[4] = {wasm_i16x8_shuffle(low01, low23, 0, 8, 1, 9, 2, 10, 3, 11),
                          wasm_i16x8_shuffle(low01, low23, 4, 12, 5, 13, 6, 14, 7, 15),
                          wasm_i16x8_shuffle(high01, high23, 0, 8, 1, 9, 2, 10, 3, 11),
                          wasm_i16x8_shuffle(high01, high23, 4, 12, 5, 13, 6, 14, 7, 15)};
  // Bit 31 set: a well-formed set never empties, this keeps ctz defined regardless.
#define FETAL_EXIT(set, lane) \
  leaf[__builtin_ctz(uint32_t(wasm_i32x4_extract_lane(set, lane)) | 0x80000000u)]
#pragma clang loop unroll(full)
  for (int w = 0; w < 4; ++w) {
    const v128_t values = wasm_f32x4_make(FETAL_EXIT(sets[w], 0), FETAL_EXIT(sets[w], 1),
                                          FETAL_EXIT(sets[w], 2), FETAL_EXIT(sets[w], 3));
    sums[w] = wasm_f32x4_add(sums[w], values);
  }
#undef FETAL_EXIT
}

}  // namespace

void WasmRankBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                          float* margins) {
  // rank[s * kRankBlock + e]: exam e's rank for slot s (ExamRanks); rows past `rows` rank 0.
  alignas(16) uint8_t rank[kLevelSlots * kRankBlock] = {};
  for (size_t e = 0; e < rows; ++e) {
    ExamRanks(layout, features + e * kNumFeatures, rank + e, kRankBlock);
  }
  v128_t sums[kNumClasses][kRankBlock / 4];
  for (int c = 0; c < kNumClasses; ++c) {
    for (v128_t& v : sums[c]) v = wasm_f32x4_splat(layout.base_score[c]);
  }
  const size_t trees = layout.level_tree_count;
  for (int c = 0; c < kNumClasses; ++c) {
    for (size_t k = size_t(c); k < trees; k += kNumClasses) {
      const size_t lane = k / kLevelLanes * kLevelNodes * kLevelLanes + k % kLevelLanes;
      const uint8_t* slot = layout.level_slot.data() + lane;
      const uint8_t* index = layout.level_index.data() + lane;
      const float* leaf = layout.level_leaf.data() + k * kLevelLeaves;
      for (size_t first = 0; first < kRankBlock; first += 16) {
        v128_t planes[4];
        for (v128_t& p : planes) p = wasm_i8x16_splat(-1);
#pragma clang loop unroll(full)
        for (size_t i = 0; i < kLevelNodes; ++i) {
          const uint8_t* column = rank + size_t(slot[kLevelLanes * i]) * kRankBlock;
          v128_t left = GoesLeft(wasm_v128_load(column + first),
                                 wasm_v128_load8_splat(index + kLevelLanes * i));
          // Opaque to LLVM, which would otherwise turn the plane updates into bitselects
          // (three instructions each in V8, against two for or + and).
          __asm__("" : "+r"(left));
          LoadBarrier(left);
#pragma clang loop unroll(full)
          for (int q = 0; q < 4; ++q) {
            const uint8_t m = kLeftLeaves.mask[i][q];
            if (m == 0) continue;
            planes[q] =
                wasm_v128_and(planes[q],
                              m == 0xff ? left : wasm_v128_or(left, wasm_i8x16_splat(int8_t(~m))));
          }
        }
        AddExitLeaves(planes, leaf, sums[c] + first / 4);
      }
    }
  }
  for (int c = 0; c < kNumClasses; ++c) {
    alignas(16) float lanes[kRankBlock];
    for (size_t w = 0; w < kRankBlock / 4; ++w) wasm_v128_store(lanes + 4 * w, sums[c][w]);
    for (size_t e = 0; e < rows; ++e) margins[e * kNumClasses + c] = lanes[e];
  }
}

}  // namespace internal
}  // namespace fetal

#endif  // __wasm_simd128__
