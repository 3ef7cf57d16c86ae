// Evaluator: trees compiled into complete binary trees for branch-free traversal.
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
// AVX-512 (GCC on x86-64, used when the CPU has AVX-512F/CD/BW and BMI2; set
// FETAL_EVALUATOR_KERNEL=scalar to force the portable code). Models whose trees are all at most
// 6 deep get vector tables, every tree laid out at the model's largest depth D:
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
// WebAssembly SIMD128 (the wasm build), for models of complete trees at most 5 deep, tree k
// adding to class k % 3, at most 255 distinct thresholds per feature (every XGBoost multiclass
// model of the default's shape): each feature value becomes its 8-bit rank, and every tree is
// laid out as its depth-5 heap in "level tables", 16 trees per group, one byte lane per tree.
// - One exam: the 16 trees of a group walk level by level at once; each lane's node is picked
//   among the level's node vectors by a bitselect tree on the lane's path so far, its feature
//   rank by i8x16.swizzle, and one u8 compare decides the 16 steps.
// - A batch: QuickScorer over 16 exams per vector, one tree at a time, byte-plane leaf sets.
// A missing value ranks 255 (right of every split) for splits sending it right, 0 for the
// others. Other models walk the packed 8-byte nodes.
// Results are identical to the scalar path: the same comparisons and the same float additions
// in the same order (tests check this bit for bit).
//
// Sums. Each class margin starts at the base score and adds leaf values in float, in tree
// order, exactly as libxgboost's CPU predictor does, so margins match bit for bit.
#include "fetal/evaluator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fetal/bundle.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FETAL_HAVE_AVX512 1
#include <immintrin.h>
#endif

namespace fetal {
namespace {

constexpr int kMaxCompleteDepth = 10;  // 2^11 floats = 8 KB per tree at most
constexpr int kSlots = 2 * kNumFeatures;
constexpr size_t kBlockRows = 64;       // rows per batch block: 64 * 42 floats = 10.5 KB stack

inline void ExpandRow(const float* x, float* slots) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
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

void Softmax(const float* margins, double inverse_temperature, float* probabilities) {
  double z[kNumClasses];
  double top = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = double(margins[c]) * inverse_temperature;
    top = std::max(top, z[c]);
  }
  double sum = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = std::exp(z[c] - top);
    sum += z[c];
  }
  for (int c = 0; c < kNumClasses; ++c) probabilities[c] = float(z[c] / sum);
}

}  // namespace

struct Evaluator::Layout {
  struct CompiledTree {
    uint32_t block;    // offset into `values` (complete trees) or `nodes` (walked trees)
    uint32_t slots;    // offset into `slot` (complete trees only)
    int16_t depth;     // -1: walked tree
    int16_t target_class;
  };
  struct WalkNode {
    int32_t left;      // -1 at a leaf; right child is left + 1
    int32_t slot;
    float value;       // threshold, or leaf value at a leaf
  };
  std::vector<CompiledTree> trees;
  std::vector<float> values;
  std::vector<uint8_t> slot;
  std::vector<WalkNode> nodes;
  float base_score[kNumClasses];

  // Vector tables, built only when every tree has depth <= kMaxSimdDepth and the CPU has
  // AVX-512F/CD and BMI2. Per tree: its real splits (not padding) in heap order, padded to a
  // multiple of 16 entries, and max(16, 2^D) leaf values.
  struct SimdTree {
    uint32_t qs_nodes;     // offset into the qs_* arrays
    uint32_t qs_count;     // real splits
    uint32_t leaves;       // offset into simd_leaf
    int16_t depth;
    int16_t target_class;
    uint64_t heap_splits;  // bit i set: heap node i is a real split
    uint32_t heap;         // depth <= 5: offset into heap_split / heap_threshold, and
                           // (32 per tree) into rank_feature / rank_index
  };
  bool have_tables = false;  // BuildSimdTables() succeeded
  bool use_avx512 = false;   // ... and this CPU runs the AVX-512 kernels
  std::vector<uint8_t> is_split;       // parallel to `slot`: a real split, not padding
  std::vector<SimdTree> simd_trees;
  std::vector<uint32_t> qs_column;     // slot * kBlockRows: the split's column in a batch block
  std::vector<int32_t> qs_split;       // feature | default_left << 5
  std::vector<float> qs_threshold;
  std::vector<uint64_t> qs_mask;       // the leaves (bit j = leaf j) NOT in the left subtree
  std::vector<float> simd_leaf;
  // Depth <= 5 models, for one exam: all heap nodes, 16 or 32 per tree (padding included).
  std::vector<int32_t> heap_split;
  std::vector<float> heap_threshold;
  // Each feature's distinct thresholds ascending (the AVX-512 rank tables and the wasm level
  // tables): x >= threshold exactly when rank(x) = #{thresholds <= x} > index(threshold).
  std::vector<float> rank_table;
  uint32_t rank_start[kNumFeatures + 1] = {};
  uint32_t FeatureRank(int feature, float x) const;
  // Depth <= 5 models, for one exam without missing values: per tree 32 heap slots of (feature,
  // index of the threshold in its table), so one 32-lane 16-bit compare replaces two float
  // compares.
  bool use_ranks = false;
  std::vector<uint16_t> rank_feature;
  std::vector<uint16_t> rank_index;
  void BuildRankTables();
#ifdef __wasm_simd128__
  // WebAssembly SIMD128, one exam and batches (every tree complete, at most kLevelDepth deep,
  // tree k adding to class k % 3, at most 255 distinct thresholds per feature): trees in
  // groups of 16, one byte lane per tree. Per group and heap node (31, every tree laid out at
  // depth 5): 16 lanes of the node's slot (feature, + kNumFeatures if missing values go left)
  // and of its threshold's index in the feature's rank table; per tree 32 leaf values. Trees
  // padding the last group have leaves -0.0f (x + -0.0f == x for every x).
  bool use_wasm_levels = false;
  size_t level_tree_count = 0;
  int level_max_depth = 0;
  std::vector<uint8_t> level_slot;
  std::vector<uint8_t> level_index;
  std::vector<float> level_leaf;
  bool BuildWasmLevelTables(const Model& model);
#endif
  int simd_depth = 0;  // every tree's depth in the vector tables
  bool round_robin = false;  // tree k adds to class k % 3
  void BuildSimdTables();

  // Portable kernel (the scalar path, and the WebAssembly build), when every tree is complete
  // and the deepest is kMinPackedDepth..kMaxPackedDepth deep: every tree laid out at that depth
  // as in BuildSimdTables, one 8-byte node per heap position (threshold, byte offset of its slot in
  // the expanded row; a leaf's value in `value`), so one step is two loads from the node, one
  // from the row and no index scaling. Trees are packed_stride nodes apart.
  struct PackedNode {
    float value;
    uint32_t slot_offset;
  };
  std::vector<PackedNode> packed;
  int packed_depth = -1;  // -1: no packed layout
  size_t packed_stride = 0;
  bool packed_round_robin = false;
  void BuildPacked();

  void AddCompleteTree(const Tree& tree, int depth);
  void AddWalkedTree(const Tree& tree);

  float TreeValue(const CompiledTree& t, const float* slots) const;
  void Margins(const float* slots, float* margins) const;
  void BlockMargins(const float* slots, size_t rows, float* margins) const;
};

void Evaluator::Layout::AddCompleteTree(const Tree& tree, int depth) {
  const size_t splits = (size_t(1) << depth) - 1;
  CompiledTree compiled{uint32_t(values.size()), uint32_t(slot.size()), int16_t(depth),
                        int16_t(tree.target_class)};
  values.resize(values.size() + 2 * splits + 1, 0.0f);
  slot.resize(slot.size() + splits, 0);
  is_split.resize(slot.size(), 0);
  float* block = values.data() + compiled.block;
  uint8_t* slots = slot.data() + compiled.slots;
  // Walk (source node, heap position, depth).
  struct Item { int node; size_t pos; int d; };
  std::vector<Item> stack = {{0, 0, 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    if (!tree.is_leaf(it.node)) {
      block[it.pos] = tree.value[it.node];
      slots[it.pos] = uint8_t(tree.feature[it.node] + (tree.default_left[it.node] ? kNumFeatures : 0));
      is_split[compiled.slots + it.pos] = 1;
      stack.push_back({tree.left[it.node], 2 * it.pos + 1, it.d + 1});
      stack.push_back({tree.right[it.node], 2 * it.pos + 2, it.d + 1});
      continue;
    }
    // Fill every leaf of the subtree under `pos` with this leaf's value; the padded split
    // slots keep threshold 0 / slot 0, whichever way they go the value is the same.
    size_t first = it.pos, count = 1;
    for (int d = it.d; d < depth; ++d) {
      first = 2 * first + 1;
      count *= 2;
    }
    for (size_t i = 0; i < count; ++i) block[first + i] = tree.value[it.node];
  }
  trees.push_back(compiled);
}

void Evaluator::Layout::AddWalkedTree(const Tree& tree) {
  CompiledTree compiled{uint32_t(nodes.size()), 0, -1, int16_t(tree.target_class)};
  // Breadth-first renumbering so that right = left + 1.
  std::vector<int> order = {0};
  for (size_t i = 0; i < order.size(); ++i) {
    if (!tree.is_leaf(order[i])) {
      order.push_back(tree.left[order[i]]);
      order.push_back(tree.right[order[i]]);
    }
  }
  int32_t next = 1;
  for (int node : order) {
    WalkNode w{-1, 0, tree.value[node]};
    if (!tree.is_leaf(node)) {
      w.left = next;
      next += 2;
      w.slot = tree.feature[node] + (tree.default_left[node] ? kNumFeatures : 0);
    }
    nodes.push_back(w);
  }
  trees.push_back(compiled);
}


namespace {
// Depths the packed kernels are instantiated for (each depth is code in the size-bound wasm).
constexpr int kMinPackedDepth = 4;
constexpr int kMaxPackedDepth = 6;  // 127 nodes = 1 KB per tree
}  // namespace

void Evaluator::Layout::BuildPacked() {
  int depth = 0;
  size_t own_steps = 0;
  for (const CompiledTree& t : trees) {
    if (t.depth < 0 || t.depth > kMaxPackedDepth) return;  // keep the generic walk
    depth = std::max<int>(depth, t.depth);
    own_steps += size_t(t.depth);
  }
  if (depth < kMinPackedDepth) return;
  // Padding shallow trees to the largest depth costs steps; past ~10% more the per-tree walk
  // (which stops at each tree's own depth) is faster.
  if (10 * trees.size() * size_t(depth) > 11 * own_steps) return;
  const size_t splits = (size_t(1) << depth) - 1;
  packed_stride = 2 * splits + 1;
  packed.assign(trees.size() * packed_stride, PackedNode{0.0f, 0});
  packed_round_robin = true;
  for (size_t k = 0; k < trees.size(); ++k) {
    const CompiledTree& t = trees[k];
    if (t.target_class != int(k % kNumClasses)) packed_round_robin = false;
    PackedNode* out = packed.data() + k * packed_stride;
    const size_t own_splits = (size_t(1) << t.depth) - 1;
    // Heap positions above the tree's own depth are the same nodes in both layouts; below it the
    // splits stay (0, slot 0): every leaf under them holds the same value.
    for (size_t i = 0; i < own_splits; ++i) {
      const uint32_t slot_offset = uint32_t(slot[t.slots + i]) * uint32_t(sizeof(float));
      out[i] = PackedNode{values[t.block + i], slot_offset};
    }
    const int extra = depth - t.depth;
    for (size_t j = 0; j <= splits; ++j) {
      out[splits + j].value = values[t.block + own_splits + (j >> extra)];
    }
  }
  packed_depth = depth;
}

namespace {
constexpr int kMaxSimdDepth = 6;  // 64-entry tables: four registers
constexpr int kSimdDefaultLeftBit = 32;
}  // namespace

void Evaluator::Layout::BuildSimdTables() {
  // Every tree is laid out at the model's largest depth, so the kernels branch once per call:
  // a shallower tree's leaf j covers leaves j << (depth - own depth) onward, and the walk goes
  // left (bit 0) below its real splits.
  int depth = 0;
  for (const CompiledTree& t : trees) {
    if (t.depth < 0 || t.depth > kMaxSimdDepth) return;  // keep the scalar path
    depth = std::max<int>(depth, t.depth);
  }
  simd_depth = depth;
  const size_t leaf_count = size_t(1) << depth;
  for (const CompiledTree& t : trees) {
    const size_t splits = (size_t(1) << t.depth) - 1;
    const int extra = depth - t.depth;
    SimdTree st{uint32_t(qs_column.size()), 0, uint32_t(simd_leaf.size()), int16_t(depth),
                t.target_class, 0, uint32_t(heap_split.size())};
    simd_leaf.resize(simd_leaf.size() + std::max<size_t>(16, leaf_count), 0.0f);
    for (size_t j = 0; j < leaf_count; ++j) {
      simd_leaf[st.leaves + j] = values[t.block + splits + (j >> extra)];
    }
    if (depth <= 5) {
      heap_split.resize(heap_split.size() + std::max<size_t>(16, leaf_count), 0);
      heap_threshold.resize(heap_threshold.size() + std::max<size_t>(16, leaf_count), 0.0f);
    }
    // Padding splits are left out of the lists: all leaves under one hold the same value.
    for (size_t i = 0, level_start = 0, level = 0; i < splits; ++i) {
      if (i == 2 * level_start + 1) {
        level_start = i;
        ++level;
      }
      if (!is_split[t.slots + i]) continue;
      const int s = slot[t.slots + i];
      const int32_t split_word = (s % kNumFeatures) | (s >= kNumFeatures ? kSimdDefaultLeftBit : 0);
      if (depth <= 5) {
        heap_split[st.heap + i] = split_word;
        heap_threshold[st.heap + i] = values[t.block + i];
      }
      const size_t span = size_t(1) << (depth - level);  // leaves under node i
      const size_t first = (i - level_start) * span;      // its leftmost leaf
      const uint64_t left_leaves = ((uint64_t(1) << (span / 2)) - 1) << first;
      qs_column.push_back(uint32_t(s) * uint32_t(kBlockRows));
      qs_split.push_back(split_word);
      qs_threshold.push_back(values[t.block + i]);
      qs_mask.push_back(~left_leaves);
      st.heap_splits |= uint64_t(1) << i;
      ++st.qs_count;
    }
    const size_t padded = (qs_column.size() + 15) / 16 * 16;
    qs_column.resize(padded, 0);
    qs_split.resize(padded, 0);
    qs_threshold.resize(padded, 0.0f);
    qs_mask.resize(padded, ~uint64_t(0));
    simd_trees.push_back(st);
  }
  round_robin = true;
  for (size_t k = 0; k < simd_trees.size(); ++k) {
    if (simd_trees[k].target_class != int(k % kNumClasses)) round_robin = false;
  }
  have_tables = true;
}

inline uint32_t Evaluator::Layout::FeatureRank(int feature, float x) const {
  return CountAtMost(rank_table.data() + rank_start[feature],
                     rank_start[feature + 1] - rank_start[feature], x);
}

void Evaluator::Layout::BuildRankTables() {
  if (simd_depth > 5) return;
  std::vector<std::vector<float>> table(kNumFeatures);
  for (const SimdTree& t : simd_trees) {
    for (int i = 0; i < 32; ++i) {
      if (!(t.heap_splits >> i & 1)) continue;
      const int feature = heap_split[t.heap + i] & (kSimdDefaultLeftBit - 1);
      table[feature].push_back(heap_threshold[t.heap + i]);
    }
  }
  for (int f = 0; f < kNumFeatures; ++f) {
    std::sort(table[f].begin(), table[f].end());
    table[f].erase(std::unique(table[f].begin(), table[f].end()), table[f].end());
    if (table[f].size() > 65535) return;
    rank_start[f + 1] = rank_start[f] + uint32_t(table[f].size());
    rank_table.insert(rank_table.end(), table[f].begin(), table[f].end());
  }
  rank_feature.assign(32 * simd_trees.size(), 0);
  rank_index.assign(32 * simd_trees.size(), 0);
  for (size_t k = 0; k < simd_trees.size(); ++k) {
    const SimdTree& t = simd_trees[k];
    for (int i = 0; i < 32; ++i) {
      if (!(t.heap_splits >> i & 1)) continue;
      const int f = heap_split[t.heap + i] & (kSimdDefaultLeftBit - 1);
      rank_feature[32 * k + i] = uint16_t(f);
      rank_index[32 * k + i] = uint16_t(
          std::lower_bound(table[f].begin(), table[f].end(), heap_threshold[t.heap + i]) -
          table[f].begin());
    }
  }
  use_ranks = true;
}

#ifdef __wasm_simd128__
namespace {
constexpr int kLevelDepth = 5;
constexpr size_t kLevelNodes = 31;   // heap nodes of a depth-5 tree
constexpr size_t kLevelLeaves = 32;
constexpr size_t kLevelLanes = 16;   // trees per group

// Level-table building, one tree per call (functions of their own, not loop bodies: the
// WebAssembly engine can switch to optimized code for them part-way through a cold load).
constexpr uint8_t kNoSplit = 0xff;

// Tree k's depth-5 heap into heap_slot / heap_value (31 entries: a split's slot, + kNumFeatures
// if missing values go left, and threshold; kNoSplit below a leaf) and leaves (32 entries, a
// leaf above depth 5 repeated over those it covers), its thresholds into table. False if the
// tree is deeper than 5 or a feature has more than 255 distinct thresholds.
__attribute__((noinline)) bool AddLevelTree(const Tree& tree, uint8_t* heap_slot,
                                            float* heap_value, float* leaves,
                                            std::vector<float>* table, int* max_depth) {
  struct Item {
    int32_t node;
    uint32_t heap;
    uint32_t depth;
  };
  Item stack[2 * kLevelDepth + 2];  // depth-first: at most one pending sibling per level
  size_t top = 0;
  stack[top++] = {0, 0, 0};
  while (top > 0) {
    const Item it = stack[--top];
    const float value = tree.value[size_t(it.node)];
    *max_depth = std::max(*max_depth, int(it.depth));
    if (tree.is_leaf(it.node)) {
      const uint32_t span = 1u << (kLevelDepth - it.depth);
      const uint32_t first = (it.heap - ((1u << it.depth) - 1)) * span;
      for (uint32_t j = 0; j < span; ++j) leaves[first + j] = value;
      continue;
    }
    if (it.depth >= uint32_t(kLevelDepth)) return false;
    const int feature = tree.feature[size_t(it.node)];
    heap_slot[it.heap] = uint8_t(feature + (tree.default_left[size_t(it.node)] ? kNumFeatures : 0));
    heap_value[it.heap] = value;
    // Each feature's distinct thresholds, kept ascending by insertion (std::sort would add
    // ~1 KB to the gzipped module); past 255 the 8-bit ranks do not fit.
    std::vector<float>& thresholds = table[feature];
    const auto at = std::lower_bound(thresholds.begin(), thresholds.end(), value);
    if (at == thresholds.end() || *at != value) {
      if (thresholds.size() == 255) return false;
      const size_t position = size_t(at - thresholds.begin());
      thresholds.push_back(value);
      for (size_t j = thresholds.size() - 1; j > position; --j) thresholds[j] = thresholds[j - 1];
      thresholds[position] = value;
    }
    stack[top++] = {tree.right[size_t(it.node)], 2 * it.heap + 2, it.depth + 1};
    stack[top++] = {tree.left[size_t(it.node)], 2 * it.heap + 1, it.depth + 1};
  }
  return true;
}

// One tree's 31 nodes into its byte lane of the group vectors (slot, threshold index).
__attribute__((noinline)) void SetLevelLane(const uint8_t* heap_slot, const float* heap_value,
                                            const std::vector<float>* table, uint8_t* slot,
                                            uint8_t* index) {
  for (size_t i = 0; i < kLevelNodes; ++i) {
    const uint8_t s = heap_slot[i];
    if (s == kNoSplit) continue;
    const std::vector<float>& thresholds = table[s % kNumFeatures];
    slot[kLevelLanes * i] = s;
    index[kLevelLanes * i] = uint8_t(
        std::lower_bound(thresholds.begin(), thresholds.end(), heap_value[i]) - thresholds.begin());
  }
}

}  // namespace

// Straight from the model's trees (no complete-tree layout first): a cold page load runs this
// as baseline-compiled code. Returns false, leaving the layout as it was, if the model does not
// fit the tables. Precondition: the model passes CheckModel().
bool Evaluator::Layout::BuildWasmLevelTables(const Model& model) {
  const size_t tree_count = model.trees.size();
  const size_t groups = (tree_count + kLevelLanes - 1) / kLevelLanes;
  std::vector<uint8_t> heap_slot(tree_count * kLevelNodes, kNoSplit);
  std::vector<float> heap_value(tree_count * kLevelNodes, 0.0f);
  std::vector<float> leaves(groups * kLevelLanes * kLevelLeaves, -0.0f);
  std::vector<float> table[kNumFeatures];
  int max_depth = 0;
  for (size_t k = 0; k < tree_count; ++k) {
    if (model.trees[k].target_class != int(k % kNumClasses)) return false;
    if (!AddLevelTree(model.trees[k], &heap_slot[k * kLevelNodes], &heap_value[k * kLevelNodes],
                      &leaves[k * kLevelLeaves], table, &max_depth)) {
      return false;
    }
  }
  // Padding nodes (and padding trees) stay slot 0, index 0: every leaf under them holds the
  // same value, whichever way they go.
  level_slot.assign(groups * kLevelNodes * kLevelLanes, 0);
  level_index.assign(groups * kLevelNodes * kLevelLanes, 0);
  for (size_t k = 0; k < tree_count; ++k) {
    const size_t lane = k / kLevelLanes * kLevelNodes * kLevelLanes + k % kLevelLanes;
    SetLevelLane(&heap_slot[k * kLevelNodes], &heap_value[k * kLevelNodes], table,
                 &level_slot[lane], &level_index[lane]);
  }
  for (int f = 0; f < kNumFeatures; ++f) {
    rank_start[f + 1] = rank_start[f] + uint32_t(table[f].size());
    for (float threshold : table[f]) rank_table.push_back(threshold);
  }
  level_leaf = std::move(leaves);
  level_tree_count = tree_count;
  level_max_depth = max_depth;
  use_wasm_levels = true;
  return true;
}
#endif

#ifdef FETAL_HAVE_AVX512
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

template <int kDepth, bool kMissing, bool kRanks, typename Layout, typename SimdTree>
inline float SimdTreeValue(const Layout& layout, const SimdTree& t, size_t k, __m512 x_low,
                           __m512 x_high, __m512i ranks) {
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

template <int kDepth, bool kMissing, bool kRanks, typename Layout>
inline void SimdRun(const Layout& layout, uint32_t begin, uint32_t end, __m512 x_low,
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

template <bool kMissing, bool kRanks, typename Layout>
void SimdMarginsImpl(const Layout& layout, __m512 x_low, __m512 x_high, __m512i ranks,
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

// A template only so that it can take the evaluator's private Layout type.
template <typename Layout>
void SimdMargins(const Layout& layout, const float* features, float* margins) {
  const __m512 x_low = _mm512_loadu_ps(features);
  const __m512 x_high = _mm512_maskz_loadu_ps(__mmask16((1u << (kNumFeatures - 16)) - 1),
                                              features + 16);
  // Most exams have no missing value; they skip the default-direction logic.
  const bool missing = _mm512_cmp_ps_mask(x_low, x_low, _CMP_UNORD_Q) != 0 ||
                       _mm512_cmp_ps_mask(x_high, x_high, _CMP_UNORD_Q) != 0;
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


// A block of kBlockRows exams through every tree, QuickScorer style (Lucchese et al. 2015),
// 16 exams per vector. `columns` is the block transposed: kSlots columns of kBlockRows values
// (the expanded row, so no NaN is left). Each exam keeps a bit set of the tree's leaves (bit j
// = leaf j, left to right); every split the exam goes right at clears the leaves of the split's
// left subtree; the exit leaf is then the lowest bit still set. Every split is evaluated, but
// with one vector compare and one masked AND per 16 exams and no data-dependent loads.
template <typename Layout>
void SimdBlockMargins(const Layout& layout, const float* columns, float* margins) {
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
        const __m512i lowest = _mm512_and_si512(alive[g], _mm512_sub_epi32(_mm512_setzero_si512(), alive[g]));
        const __m512i exit_leaf = _mm512_sub_epi32(thirty_one, _mm512_lzcnt_epi32(lowest));
        s[g] = _mm512_add_ps(s[g], t.depth == 5 ? Lookup<32>(lf, exit_leaf) : Lookup<16>(lf, exit_leaf));
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
        const __m512i exit_low = _mm512_sub_epi64(
            sixty_three, _mm512_lzcnt_epi64(_mm512_and_si512(low[g], _mm512_sub_epi64(zero, low[g]))));
        const __m512i exit_high = _mm512_sub_epi64(
            sixty_three, _mm512_lzcnt_epi64(_mm512_and_si512(high[g], _mm512_sub_epi64(zero, high[g]))));
        const __m512i exit_leaf = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm512_cvtepi64_epi32(exit_low)), _mm512_cvtepi64_epi32(exit_high), 1);
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

}  // namespace
#pragma GCC diagnostic pop
#pragma GCC pop_options

bool CpuHasAvx512() {
  static const bool has =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("bmi2");
  return has;
}
#endif  // FETAL_HAVE_AVX512


namespace {

// One step down a packed tree: `offset` is 8 * heap index, so the children of node i (2i+1,
// 2i+2) sit at 2 * offset + 8 and + 16.
template <typename Node>
inline uint32_t PackedStep(const char* tree, const char* row, uint32_t offset) {
  Node node;
  std::memcpy(&node, tree + offset, sizeof(node));
  float x;
  std::memcpy(&x, row + node.slot_offset, sizeof(x));
  return 2 * offset + 8 + (uint32_t(x >= node.value) << 3);
}

template <int kDepth, typename Node>
inline float PackedLeaf(const char* tree, const char* row) {
  uint32_t offset = 0;
  for (int d = 0; d < kDepth; ++d) offset = PackedStep<Node>(tree, row, offset);
  float leaf;
  std::memcpy(&leaf, tree + offset, sizeof(leaf));
  return leaf;
}

// One exam through every tree. Six trees are walked at once (independent load chains the CPU
// overlaps); their values are then added in tree order, so the sums are the same.
template <int kDepth, typename Layout>
void PackedMargins(const Layout& layout, const float* slots, float* margins) {
  using Node = typename Layout::PackedNode;
  const char* row = reinterpret_cast<const char*>(slots);
  const char* tree = reinterpret_cast<const char*>(layout.packed.data());
  const size_t stride = layout.packed_stride * sizeof(Node);
  const size_t n = layout.trees.size();
  size_t k = 0;
  if (layout.packed_round_robin) {
    float m0 = margins[0], m1 = margins[1], m2 = margins[2];
    for (; k + 6 <= n; k += 6, tree += 6 * stride) {
      const float v0 = PackedLeaf<kDepth, Node>(tree, row);
      const float v1 = PackedLeaf<kDepth, Node>(tree + stride, row);
      const float v2 = PackedLeaf<kDepth, Node>(tree + 2 * stride, row);
      const float v3 = PackedLeaf<kDepth, Node>(tree + 3 * stride, row);
      const float v4 = PackedLeaf<kDepth, Node>(tree + 4 * stride, row);
      const float v5 = PackedLeaf<kDepth, Node>(tree + 5 * stride, row);
      m0 += v0;
      m1 += v1;
      m2 += v2;
      m0 += v3;
      m1 += v4;
      m2 += v5;
    }
    margins[0] = m0;
    margins[1] = m1;
    margins[2] = m2;
  }
  for (; k < n; ++k, tree += stride) {
    margins[layout.trees[k].target_class] += PackedLeaf<kDepth, Node>(tree, row);
  }
}

// A block of rows through every tree, tree by tree (the tree stays in L1), four rows walked at
// once.
template <int kDepth, typename Layout>
void PackedBlockMargins(const Layout& layout, const float* slots, size_t rows, float* margins) {
  using Node = typename Layout::PackedNode;
  constexpr size_t kRowBytes = kSlots * sizeof(float);
  const char* block = reinterpret_cast<const char*>(slots);
  const char* tree = reinterpret_cast<const char*>(layout.packed.data());
  const size_t stride = layout.packed_stride * sizeof(Node);
  for (size_t k = 0; k < layout.trees.size(); ++k, tree += stride) {
    float* m = margins + layout.trees[k].target_class;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const char* row = block + r * kRowBytes;
      uint32_t o0 = 0, o1 = 0, o2 = 0, o3 = 0;
      for (int d = 0; d < kDepth; ++d) {
        o0 = PackedStep<Node>(tree, row, o0);
        o1 = PackedStep<Node>(tree, row + kRowBytes, o1);
        o2 = PackedStep<Node>(tree, row + 2 * kRowBytes, o2);
        o3 = PackedStep<Node>(tree, row + 3 * kRowBytes, o3);
      }
      float v[4];
      std::memcpy(&v[0], tree + o0, sizeof(float));
      std::memcpy(&v[1], tree + o1, sizeof(float));
      std::memcpy(&v[2], tree + o2, sizeof(float));
      std::memcpy(&v[3], tree + o3, sizeof(float));
      for (int j = 0; j < 4; ++j) m[(r + j) * kNumClasses] += v[j];
    }
    for (; r < rows; ++r) {
      m[r * kNumClasses] += PackedLeaf<kDepth, Node>(tree, block + r * kRowBytes);
    }
  }
}

#ifdef __wasm_simd128__
// Batches of level-table models take the SIMD128 rank kernel; others of depth <= 5 the generic
// block walk (no packed block kernel for them: code size).
constexpr int kMinPackedBlockDepth = 6;
#else
constexpr int kMinPackedBlockDepth = kMinPackedDepth;
#endif

template <typename Layout>
bool PackedDispatch(const Layout& layout, const float* slots, size_t rows, float* margins) {
  // rows == 0: one exam (Margins); else a block.
#define FETAL_PACKED_CASE(D)                                            \
  case D:                                                               \
    if (rows == 0) {                                                    \
      PackedMargins<D>(layout, slots, margins);                         \
    } else if (D >= kMinPackedBlockDepth) {                             \
      PackedBlockMargins<D>(layout, slots, rows, margins);              \
    } else {                                                            \
      return false;                                                     \
    }                                                                   \
    return true;
  switch (layout.packed_depth) {
    FETAL_PACKED_CASE(4)
    FETAL_PACKED_CASE(5)
    FETAL_PACKED_CASE(6)
    default:
      return false;
  }
#undef FETAL_PACKED_CASE
}

#ifdef __wasm_simd128__
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

// Sixteen trees, one per byte lane, walked level by level. At level L lane t stands at
// position p_t = (b_0 ... b_{L-1}) in binary, b_j its go-right bits so far; the node's slot
// and threshold index are picked among the level's 2^L node vectors by a bitselect tree on
// those bits (lowest first), then one swizzle-and-compare gives b_L for all 16 trees (held
// inverted, as go-left masks). Returns each lane's leaf (0..31).
inline v128_t WasmLevelLeaves(const uint8_t* slot, const uint8_t* index, const v128_t* rank) {
  v128_t left[kLevelDepth];
#pragma clang loop unroll(full)
  for (int level = 0; level < kLevelDepth; ++level) {
    if (level > 0) LoadBarrier(left[level - 1]);
    const int first = (1 << level) - 1;
    v128_t s[16], x[16];
#pragma clang loop unroll(full)
    for (int p = 0; p < (1 << level); ++p) {
      s[p] = wasm_v128_load(slot + kLevelLanes * (first + p));
      x[p] = wasm_v128_load(index + kLevelLanes * (first + p));
    }
#pragma clang loop unroll(full)
    for (int j = level - 1; j >= 0; --j) {
#pragma clang loop unroll(full)
      for (int q = 0; q < (1 << j); ++q) {
        s[q] = wasm_v128_bitselect(s[2 * q], s[2 * q + 1], left[j]);
        x[q] = wasm_v128_bitselect(x[2 * q], x[2 * q + 1], left[j]);
      }
    }
    left[level] = GoesLeft(PickRanks(rank, s[0]), x[0]);
  }
  v128_t leaf = wasm_v128_andnot(wasm_i8x16_splat(1), left[kLevelDepth - 1]);
#pragma clang loop unroll(full)
  for (int level = 0; level + 1 < kLevelDepth; ++level) {
    leaf = wasm_v128_or(leaf, wasm_v128_andnot(wasm_i8x16_splat(int8_t(16 >> level)), left[level]));
  }
  return leaf;
}

constexpr size_t kLevelSlots = 48;  // 2 * kNumFeatures slots, padded to three registers

// An exam's ranks for the level tables, rank[s * stride] for slot s: slot f holds feature f's
// rank, a missing value 255 (right of every threshold: indices are <= 254); slot
// kNumFeatures + f (splits sending missing values left) the same rank, a missing value 0.
template <typename Layout>
inline void ExamRanks(const Layout& layout, const float* features, uint8_t* rank, size_t stride) {
  for (int f = 0; f < kNumFeatures; ++f) {
    const float x = features[f];
    const bool missing = std::isnan(x);
    const uint8_t r = missing ? 0 : uint8_t(layout.FeatureRank(f, x));
    rank[f * stride] = missing ? 255 : r;
    rank[(kNumFeatures + f) * stride] = r;
  }
}

// One exam through every tree with the level tables (Layout::use_wasm_levels). Lane t of group
// g is tree 16g + t, class (g + t) % 3: acc[j] holds class (g + j) % 3 during group g, so the
// three sums stay in registers and each class adds its leaves in tree order.
template <typename Layout>
void WasmLevelMargins(const Layout& layout, const float* features, float* margins) {
  alignas(16) uint8_t rank_bytes[kLevelSlots] = {};
  ExamRanks(layout, features, rank_bytes, 1);
  const v128_t rank[3] = {wasm_v128_load(rank_bytes), wasm_v128_load(rank_bytes + 16),
                          wasm_v128_load(rank_bytes + 32)};
  const size_t groups = layout.level_leaf.size() / (kLevelLanes * kLevelLeaves);
  const uint8_t* slot = layout.level_slot.data();
  const uint8_t* index = layout.level_index.data();
  const float* leaf = layout.level_leaf.data();
  float acc0 = layout.base_score[0], acc1 = layout.base_score[1], acc2 = layout.base_score[2];
  for (size_t g = 0; g < groups; ++g) {
    alignas(16) uint8_t at[kLevelLanes];
    wasm_v128_store(at, WasmLevelLeaves(slot, index, rank));
    float v[kLevelLanes];
    for (size_t t = 0; t < kLevelLanes; ++t) v[t] = leaf[kLevelLeaves * t + at[t]];
    acc0 += v[0]; acc1 += v[1]; acc2 += v[2];
    acc0 += v[3]; acc1 += v[4]; acc2 += v[5];
    acc0 += v[6]; acc1 += v[7]; acc2 += v[8];
    acc0 += v[9]; acc1 += v[10]; acc2 += v[11];
    acc0 += v[12]; acc1 += v[13]; acc2 += v[14];
    acc0 += v[15];
    const float next = acc0;  // the next group's lane 0 is the class after this one's
    acc0 = acc1;
    acc1 = acc2;
    acc2 = next;
    slot += kLevelNodes * kLevelLanes;
    index += kLevelNodes * kLevelLanes;
    leaf += kLevelLanes * kLevelLeaves;
  }
  margins[groups % kNumClasses] = acc0;
  margins[(groups + 1) % kNumClasses] = acc1;
  margins[(groups + 2) % kNumClasses] = acc2;
}

#endif  // __wasm_simd128__

}  // namespace

inline float Evaluator::Layout::TreeValue(const CompiledTree& t, const float* slots) const {
  if (t.depth >= 0) {
    const float* block = values.data() + t.block;
    const uint8_t* feature_slot = slot.data() + t.slots;
    size_t i = 0;
    for (int d = 0; d < t.depth; ++d) {
      i = 2 * i + 1 + size_t(slots[feature_slot[i]] >= block[i]);
    }
    return block[i];
  }
  const WalkNode* tree_nodes = nodes.data() + t.block;
  int32_t i = 0;
  while (tree_nodes[i].left >= 0) {
    i = tree_nodes[i].left + int32_t(slots[tree_nodes[i].slot] >= tree_nodes[i].value);
  }
  return tree_nodes[i].value;
}

void Evaluator::Layout::Margins(const float* slots, float* margins) const {
  // `slots` is the expanded row (see top of file).
  for (int c = 0; c < kNumClasses; ++c) margins[c] = base_score[c];
  if (packed_depth >= 0 && PackedDispatch(*this, slots, 0, margins)) return;
  for (const CompiledTree& t : trees) margins[t.target_class] += TreeValue(t, slots);
}

namespace {

// One complete tree of a fixed depth over a block of rows: the depth loop unrolls and rows are
// independent, so the CPU overlaps the traversals.
template <int kDepth>
void CompleteTreeBlock(const float* block, const uint8_t* feature_slot, const float* slots,
                       size_t rows, float* margins, int target_class) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = slots + r * kSlots;
    size_t i = 0;
    for (int d = 0; d < kDepth; ++d) i = 2 * i + 1 + size_t(x[feature_slot[i]] >= block[i]);
    margins[r * kNumClasses + target_class] += block[i];
  }
}

using BlockFunction = void (*)(const float*, const uint8_t*, const float*, size_t, float*, int);
constexpr BlockFunction kBlockFunctions[kMaxCompleteDepth + 1] = {
    CompleteTreeBlock<0>, CompleteTreeBlock<1>, CompleteTreeBlock<2>, CompleteTreeBlock<3>,
    CompleteTreeBlock<4>, CompleteTreeBlock<5>, CompleteTreeBlock<6>, CompleteTreeBlock<7>,
    CompleteTreeBlock<8>, CompleteTreeBlock<9>, CompleteTreeBlock<10>};

}  // namespace

void Evaluator::Layout::BlockMargins(const float* slots, size_t rows, float* margins) const {
  for (size_t r = 0; r < rows; ++r) {
    for (int c = 0; c < kNumClasses; ++c) margins[r * kNumClasses + c] = base_score[c];
  }
  if (rows > 0 && packed_depth >= 0 && PackedDispatch(*this, slots, rows, margins)) return;
  for (const CompiledTree& t : trees) {
    if (t.depth >= 0) {
      kBlockFunctions[t.depth](values.data() + t.block, slot.data() + t.slots, slots, rows,
                               margins, t.target_class);
    } else {
      for (size_t r = 0; r < rows; ++r) {
        margins[r * kNumClasses + t.target_class] += TreeValue(t, slots + r * kSlots);
      }
    }
  }
}

Evaluator::~Evaluator() = default;

Status Evaluator::Create(const Model& model, std::unique_ptr<Evaluator>* out) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  std::unique_ptr<Evaluator> evaluator(new Evaluator());
  evaluator->layout_.reset(new Layout());
  Layout& layout = *evaluator->layout_;
  for (int c = 0; c < kNumClasses; ++c) layout.base_score[c] = model.base_score[c];
  evaluator->temperature_ = model.temperature;
#ifdef __wasm_simd128__
  // WebAssembly with SIMD128: one exam and batches take the level tables when the model allows
  // them (built straight from the trees); other models the packed walk below.
  if (layout.BuildWasmLevelTables(model)) {
    evaluator->max_depth_ = layout.level_max_depth;
    *out = std::move(evaluator);
    return Status::Ok();
  }
#endif
  layout.trees.reserve(model.trees.size());
  for (const Tree& tree : model.trees) {
    const int depth = TreeDepth(tree);
    evaluator->max_depth_ = std::max(evaluator->max_depth_, depth);
    if (depth <= kMaxCompleteDepth) {
      layout.AddCompleteTree(tree, depth);
    } else {
      layout.AddWalkedTree(tree);
    }
  }
#ifdef FETAL_HAVE_AVX512
  // FETAL_EVALUATOR_KERNEL=scalar forces the portable code (tests compare both).
  const char* kernel = std::getenv("FETAL_EVALUATOR_KERNEL");
  if (CpuHasAvx512() && !(kernel && std::string(kernel) == "scalar")) {
    layout.BuildSimdTables();
    if (layout.have_tables) layout.BuildRankTables();
    layout.use_avx512 = layout.have_tables;
  }
#endif
  if (!layout.use_avx512) layout.BuildPacked();
  *out = std::move(evaluator);
  return Status::Ok();
}

void Evaluator::Margins(const float* features, float* margins) const {
#ifdef FETAL_HAVE_AVX512
  if (layout_->use_avx512) return SimdMargins(*layout_, features, margins);
#endif
#ifdef __wasm_simd128__
  if (layout_->use_wasm_levels) return WasmLevelMargins(*layout_, features, margins);
#endif
  float slots[kSlots];
  ExpandRow(features, slots);
  layout_->Margins(slots, margins);
}

void Evaluator::Predict(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictRaw(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0, probabilities);
}

namespace {

#ifdef __wasm_simd128__
// WebAssembly SIMD128 batch kernel on the level tables (Layout::use_wasm_levels): QuickScorer
// (Lucchese et al. 2015) over 8-bit feature ranks, 16 exams per vector, one byte lane per exam.
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

template <typename Layout>
void WasmRankBlockMargins(const Layout& layout, const float* features, size_t rows,
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
            planes[q] = wasm_v128_and(
                planes[q], m == 0xff ? left : wasm_v128_or(left, wasm_i8x16_splat(int8_t(~m))));
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
#endif  // __wasm_simd128__

// Margins of one block of rows (at most kBlockRows) with the kernel the layout has; `slots`
// is scratch for kBlockRows expanded rows.
template <typename Layout>
void KernelBlockMargins(const Layout& layout, const float* features, size_t rows, float* slots,
                  float* margins) {
#ifdef FETAL_HAVE_AVX512
  if (layout.use_avx512) {
    // Transposed, expanded block: column s holds slot s of every exam (rows past `rows`: 0).
    for (size_t r = 0; r < kBlockRows; ++r) {
      float expanded[kSlots] = {};
      if (r < rows) ExpandRow(features + r * kNumFeatures, expanded);
      for (int k = 0; k < kSlots; ++k) slots[k * kBlockRows + r] = expanded[k];
    }
    return SimdBlockMargins(layout, slots, margins);
  }
#endif
#ifdef __wasm_simd128__
  if (layout.use_wasm_levels) {
    static_assert(kRankBlock == kBlockRows, "one rank block per batch block");
    return WasmRankBlockMargins(layout, features, rows, margins);
  }
#endif
  for (size_t r = 0; r < rows; ++r) ExpandRow(features + r * kNumFeatures, slots + r * kSlots);
  layout.BlockMargins(slots, rows, margins);
}

template <typename Layout>
void BatchProbabilities(const Layout& layout, const float* features, size_t n,
                        double inverse_temperature, float* probabilities) {
  float slots[kBlockRows * kSlots];
  float margins[kBlockRows * kNumClasses];
  for (size_t start = 0; start < n; start += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - start);
    KernelBlockMargins(layout, features + start * kNumFeatures, rows, slots, margins);
    for (size_t r = 0; r < rows; ++r) {
      Softmax(margins + r * kNumClasses, inverse_temperature,
              probabilities + (start + r) * kNumClasses);
    }
  }
}

}  // namespace

void Evaluator::PredictBatch(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictBatchRaw(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0, probabilities);
}

int ArgMax(const float* probabilities) {
  int best = 0;
  for (int c = 1; c < kNumClasses; ++c) {
    if (probabilities[c] > probabilities[best]) best = c;
  }
  return best;
}

}  // namespace fetal
