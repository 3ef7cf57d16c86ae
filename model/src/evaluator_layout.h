// The evaluator's compiled form of a model, and the kernels that walk it. Internal to the
// evaluator (model/src/evaluator*.cc, kernels_*.cc); not a public header.
//
// Layout. A tree of depth D (D <= kMaxCompleteDepth) becomes a complete tree in heap order:
// node i has children 2i+1 and 2i+2; the 2^D - 1 split nodes come first, the 2^D leaves after
// them, all in one float block (thresholds, then leaf values), so the index reached after D
// steps reads the leaf straight from the same block. A leaf above depth D is pushed down by
// repeating its value in every leaf of the padded subtree (the padded splits are then
// irrelevant). Deeper trees keep a plain node walk.
//
// Missing values. Every exam is first expanded to 2 * kNumFeatures floats: slot f holds x with
// NaN replaced by +inf, slot kNumFeatures + f holds x with NaN replaced by -inf. A split whose
// missing values go left reads the second copy, otherwise the first; then
// go_right = (x >= threshold) gives XGBoost's rule ((float)x < threshold goes left, NaN goes to
// the default child) without a branch. Thresholds are finite (CheckModel), so +-inf inputs
// compare as XGBoost compares them.
//
// On top of the complete trees, each kernel family has tables of its own:
// - packed nodes (kernels_portable.cc: the scalar path, and WebAssembly models that do not fit
//   the level tables),
// - AVX-512 vector tables and feature ranks (kernels_avx512.cc),
// - WebAssembly SIMD128 level tables (kernels_wasm_simd.cc), built straight from the model's
//   trees instead of from the complete trees.
// Every kernel makes the same comparisons and the same float additions in the same order as
// the plain walk (TreeValue), so results are identical bit for bit (tests check this).
//
// Sums. Each class margin starts at the base score and adds leaf values in float, in tree
// order, exactly as libxgboost's CPU predictor does, so margins match bit for bit.
//
// In the WebAssembly build every file that includes this header is compiled with -msimd128
// (wasm/CMakeLists.txt): the level-table members exist only then, and all of them must see the
// same struct.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "fetal/model.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FETAL_HAVE_AVX512 1
#endif

namespace fetal {
namespace internal {

constexpr int kMaxCompleteDepth = 10;  // 2^11 floats = 8 KB per tree at most
constexpr int kSlots = 2 * kNumFeatures;
constexpr size_t kBlockRows = 64;  // rows per batch block: 64 * 42 floats = 10.5 KB stack

// Depths the packed kernels are instantiated for (each depth is code in the size-bound wasm).
constexpr int kMinPackedDepth = 4;
constexpr int kMaxPackedDepth = 6;  // 127 nodes = 1 KB per tree

constexpr int kMaxSimdDepth = 6;  // 64-entry AVX-512 tables: four registers
constexpr int kMaxDeepDepth = 8;  // AVX-512 deep tables: at most 256 leaves a tree
constexpr int kSimdDefaultLeftBit = 32;

// WebAssembly level tables: 16 trees per group, each laid out as a heap of its group's depth,
// kLevelDepth (the batch kernel's) or kMaxLevelDepth; deeper trees go on from there by walking
// their nodes.
constexpr int kLevelDepth = 5;
constexpr int kMaxLevelDepth = 6;
// The deepest trees the level tables take (with the walk below kMaxLevelDepth).
constexpr int kMaxLevelTreeDepth = 8;
constexpr size_t kLevelNodes = 31;  // heap nodes of a depth-5 tree
constexpr size_t kLevelLeaves = 32;
constexpr size_t kLevelLanes = 16;  // trees per group

// The expanded-row slot a split reads: its feature, + kNumFeatures if missing values go left.
inline int SplitSlot(const Tree& tree, int node) {
  return tree.feature[size_t(node)] + (tree.default_left[size_t(node)] ? kNumFeatures : 0);
}

// x into the expanded row (see the top of this file).
inline void ExpandRow(const float* x, float* slots) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
#ifdef __wasm__
  // The wasm build runs it once per exam beside far longer work (trees deeper than its tables,
  // explanations): a plain loop, not the unrolled, vectorized one (module size).
#pragma clang loop unroll(disable) vectorize(disable)
#endif
  for (int f = 0; f < kNumFeatures; ++f) {
    const float v = x[f];
    const bool missing = std::isnan(v);
    slots[f] = missing ? kInf : v;
    slots[kNumFeatures + f] = missing ? -kInf : v;
  }
}

// How many of the `size` ascending values in `table` are <= x; branch-free binary search.
inline uint32_t CountAtMost(const float* table, uint32_t size, float x) {
  if (size == 0) return 0;
  const float* base = table;
  while (size > 1) {
    const uint32_t half = size / 2;
    base = base[half] <= x ? base + half : base;
    size -= half;
  }
  return uint32_t(base - table) + (*base <= x);
}

struct EvaluatorLayout {
  // ---- complete trees and walked trees (evaluator_layout.cc) ----
  struct CompiledTree {
    uint32_t block;  // offset into `values` (complete trees) or `nodes` (walked trees)
    uint32_t slots;  // offset into `slot` (complete trees only)
    int16_t depth;   // -1: walked tree
    int16_t target_class;
  };
  struct WalkNode {
    int32_t left;  // -1 at a leaf; right child is left + 1
    int32_t slot;
    float value;  // threshold, or leaf value at a leaf
  };
  // The value of the (sub)tree whose first walked node is `first`, for an expanded row.
  static float Walk(const WalkNode* first, const float* slots) {
    int32_t i = 0;
    while (first[i].left >= 0) i = first[i].left + int32_t(slots[first[i].slot] >= first[i].value);
    return first[i].value;
  }
  std::vector<CompiledTree> trees;
  std::vector<float> values;
  std::vector<uint8_t> slot;
  std::vector<WalkNode> nodes;
  float base_score[kNumClasses];
  void AddCompleteTree(const Tree& tree, int depth);
  void AddWalkedTree(const Tree& tree);
  // The subtree below `root` appended to `nodes` in breadth-first order (a split's children at
  // left and left + 1, relative to the returned first node).
  uint32_t AddWalkedNodes(const Tree& tree, int root);

  // ---- AVX-512 vector tables (evaluator_layout.cc; used by kernels_avx512.cc) ----
  // Built only when every tree has depth <= kMaxSimdDepth and the CPU has AVX-512F/CD and BMI2.
  // Per tree: its real splits (not padding) in heap order, padded to a multiple of 16 entries,
  // and max(16, 2^D) leaf values.
  struct SimdTree {
    uint32_t qs_nodes;  // offset into the qs_* arrays
    uint32_t qs_count;  // real splits
    uint32_t leaves;    // offset into simd_leaf
    int16_t depth;
    int16_t target_class;
    uint64_t heap_splits;  // bit i set: heap node i is a real split
    uint32_t heap;         // depth <= 5: offset into heap_split / heap_threshold, and
                           // (32 per tree) into rank_feature / rank_index
  };
  bool have_tables = false;       // BuildSimdTables() succeeded
  bool use_avx512 = false;        // ... and this CPU runs the AVX-512 kernels
  std::vector<uint8_t> is_split;  // parallel to `slot`: a real split, not padding
  std::vector<SimdTree> simd_trees;
  std::vector<uint32_t> qs_column;  // slot * kBlockRows: the split's column in a batch block
  std::vector<int32_t> qs_split;    // feature | default_left << 5
  std::vector<float> qs_threshold;
  std::vector<uint64_t> qs_mask;  // the leaves (bit j = leaf j) NOT in the left subtree
  std::vector<float> simd_leaf;
  // Depth <= 5 models, for one exam: all heap nodes, 16 or 32 per tree (padding included).
  std::vector<int32_t> heap_split;
  std::vector<float> heap_threshold;
  int simd_depth = 0;        // every tree's depth in the vector tables
  bool round_robin = false;  // tree k adds to class k % 3
  void BuildSimdTables();

  // ---- AVX-512 deep tables (evaluator_layout.cc; used by kernels_avx512.cc) ----
  // Models 7 or 8 deep (kMaxDeepDepth), past the vector tables' heap layouts. Per tree: its real
  // splits in breadth-first order (padded to 16, compared 16 at a time); its nodes numbered
  // splits first (breadth-first), then leaves left to right, with each node's children for the
  // walk (a leaf is its own two children, so every walk takes the tree's depth in steps, a
  // branch-free body); at most 256 leaves, so a QuickScorer set is at most four 64-bit words;
  // and per split and word its left subtree's leaves touch, a batch entry (column, threshold,
  // word, the bits to keep).
  struct DeepTree {
    uint32_t splits;  // offset into deep_split / deep_threshold
    uint32_t split_count;
    uint32_t links;    // offset into deep_child (2 per node)
    uint32_t entries;  // offset into the deep_entry_* arrays
    uint32_t entry_count;
    uint32_t leaves;  // offset into deep_leaf
    int16_t words;    // 64-bit words of its leaf set
    int16_t target_class;
    int32_t depth;
  };
  bool use_avx512_deep = false;
  std::vector<DeepTree> deep_trees;
  std::vector<int32_t> deep_split;  // feature | default_left << 5 (kSimdDefaultLeftBit)
  std::vector<float> deep_threshold;
  std::vector<uint16_t> deep_child;         // per node: left, right (node numbers within the tree)
  std::vector<uint32_t> deep_entry_column;  // slot * kBlockRows
  std::vector<float> deep_entry_threshold;
  std::vector<uint32_t> deep_entry_word;
  std::vector<uint64_t> deep_entry_keep;  // ~(the left subtree's leaves in the word)
  std::vector<float> deep_leaf;
  // False, leaving the layout as it was, for a model deeper than kMaxDeepDepth.
  bool BuildDeepTables(const Model& model);

  // Each feature's distinct thresholds ascending (the AVX-512 rank tables and the wasm level
  // tables): x >= threshold exactly when rank(x) = #{thresholds <= x} > index(threshold).
  std::vector<float> rank_table;
  uint32_t rank_start[kNumFeatures + 1] = {};
  uint32_t FeatureRank(int feature, float x) const {
    return CountAtMost(rank_table.data() + rank_start[feature],
                       rank_start[feature + 1] - rank_start[feature], x);
  }
  // Depth <= 5 models, for one exam without missing values: per tree 32 heap slots of (feature,
  // index of the threshold in its table), so one 32-lane 16-bit compare replaces two float
  // compares.
  bool use_ranks = false;
  std::vector<uint16_t> rank_feature;
  std::vector<uint16_t> rank_index;
  void BuildRankTables();

#ifdef __wasm_simd128__
  // ---- WebAssembly SIMD128 level tables (evaluator_layout.cc; used by kernels_wasm_simd.cc) --
  // Every model whose trees are at most kMaxLevelTreeDepth deep, tree k adding to class k % 3,
  // with at most 255 distinct thresholds per feature (XGBoost's multiclass models at its common
  // depths: its default of 256 histogram bins gives at most 255 thresholds): trees in groups of
  // 16 consecutive ones, one byte lane per tree, each group laid out at depth D = kLevelDepth,
  // or kMaxLevelDepth if one of its trees is deeper than kLevelDepth. Per group and heap node
  // (2^D - 1): 16 lanes of the node's slot (feature, + kNumFeatures if missing values go left)
  // and of its threshold's index in the feature's rank table; per tree 2^D leaf values (a leaf
  // above depth D repeated over those it covers). Trees padding the last group have leaves
  // -0.0f (x + -0.0f == x for every x). A tree that splits below depth D goes on from there by
  // walking its nodes: `deep` holds, per tree and leaf position, 1 + the first of that subtree's
  // walked nodes (AddWalkedNodes), 0 where the position is a leaf.
  struct LevelGroup {
    uint32_t nodes;   // offset of its heap nodes in level_slot / level_index (16 bytes a node)
    uint32_t leaves;  // offset of its leaves in level_leaf and level_deep (2^depth a lane)
    uint32_t depth;
    bool deep;  // some tree goes below `depth`
  };
  bool use_wasm_levels = false;
  size_t level_tree_count = 0;
  int level_max_depth = 0;
  std::vector<LevelGroup> level_groups;
  std::vector<uint8_t> level_slot;
  std::vector<uint8_t> level_index;
  std::vector<float> level_leaf;
  std::vector<uint32_t> level_deep;  // parallel to level_leaf where some group is deep
  // Returns false, leaving the layout as it was, if the model does not fit the tables.
  // Precondition: the model passes CheckModel().
  bool BuildWasmLevelTables(const Model& model);
#endif

  // ---- packed nodes (evaluator_layout.cc; used by kernels_portable.cc) ----
  // When every tree is complete and the deepest is kMinPackedDepth..kMaxPackedDepth deep: every
  // tree laid out at that depth as in BuildSimdTables, one 8-byte node per heap position
  // (threshold, byte offset of its slot in the expanded row; a leaf's value in `value`), so one
  // step is two loads from the node, one from the row and no index scaling. Trees are
  // packed_stride nodes apart.
  struct PackedNode {
    float value;
    uint32_t slot_offset;
  };
  std::vector<PackedNode> packed;
  int packed_depth = -1;  // -1: no packed layout
  size_t packed_stride = 0;
  bool packed_round_robin = false;
  void BuildPacked();

  // ---- portable kernels (kernels_portable.cc) ----
  // `slots` holds expanded rows (ExpandRow); margins start at the base score.
  float TreeValue(const CompiledTree& t, const float* slots) const;
  void Margins(const float* slots, float* margins) const;
  // `rows` expanded rows, kSlots apart -> rows * kNumClasses margins.
  void BlockMargins(const float* slots, size_t rows, float* margins) const;
};

#ifdef FETAL_HAVE_AVX512
// ---- AVX-512 kernels (kernels_avx512.cc); only when layout.use_avx512 ----
bool CpuHasAvx512();
// CpuHasAvx512(), unless FETAL_EVALUATOR_KERNEL=scalar asks for the portable kernels (the
// evaluator's and the explainer's; read at each call: tests set it between two models).
bool UseAvx512Kernels();
// One exam of kNumFeatures floats -> kNumClasses margins.
void Avx512Margins(const EvaluatorLayout& layout, const float* features, float* margins);
// A block of `rows` <= kBlockRows exams -> rows * kNumClasses margins; `scratch` holds
// kBlockRows * kSlots floats.
void Avx512BlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                        float* scratch, float* margins);
// The same two with the deep tables (layout.use_avx512_deep).
void Avx512DeepMargins(const EvaluatorLayout& layout, const float* features, float* margins);
void Avx512DeepBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                            float* scratch, float* margins);
#endif

#ifdef __wasm_simd128__
// ---- WebAssembly SIMD128 kernels (kernels_wasm_simd.cc); only when layout.use_wasm_levels ----
void WasmLevelMargins(const EvaluatorLayout& layout, const float* features, float* margins);
// A block of `rows` exams -> rows * kNumClasses margins, the same as WasmLevelMargins per exam:
// any depth the level tables take.
void WasmLevelBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                           float* margins);
// A block of `rows` <= kBlockRows exams -> rows * kNumClasses margins.
void WasmRankBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                          float* margins);
#endif

}  // namespace internal
}  // namespace fetal
