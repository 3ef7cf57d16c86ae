// Building the evaluator's layout from a model: complete and walked trees, then the tables of
// whichever kernel family will run (see evaluator_layout.h).
#include "evaluator_layout.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace fetal {
namespace internal {

void EvaluatorLayout::AddCompleteTree(const Tree& tree, int depth) {
  const size_t splits = (size_t(1) << depth) - 1;
  CompiledTree compiled{uint32_t(values.size()), uint32_t(slot.size()), int16_t(depth),
                        int16_t(tree.target_class)};
  values.resize(values.size() + 2 * splits + 1, 0.0f);
  slot.resize(slot.size() + splits, 0);
  is_split.resize(slot.size(), 0);
  float* block = values.data() + compiled.block;
  uint8_t* slots = slot.data() + compiled.slots;
  // Walk (source node, heap position, depth).
  struct Item {
    int node;
    size_t pos;
    int d;
  };
  std::vector<Item> stack = {{0, 0, 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    if (!tree.is_leaf(it.node)) {
      block[it.pos] = tree.value[it.node];
      slots[it.pos] = uint8_t(SplitSlot(tree, it.node));
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

void EvaluatorLayout::AddWalkedTree(const Tree& tree) {
  trees.push_back(CompiledTree{AddWalkedNodes(tree, 0), 0, -1, int16_t(tree.target_class)});
}

uint32_t EvaluatorLayout::AddWalkedNodes(const Tree& tree, int root) {
  const uint32_t first = uint32_t(nodes.size());
  // Breadth-first renumbering so that right = left + 1.
  std::vector<int> order = {root};
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
      w.slot = SplitSlot(tree, node);
    }
    nodes.push_back(w);
  }
  return first;
}

void EvaluatorLayout::BuildPacked() {
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

void EvaluatorLayout::BuildSimdTables() {
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
    SimdTree st{uint32_t(qs_column.size()),
                0,
                uint32_t(simd_leaf.size()),
                int16_t(depth),
                t.target_class,
                0,
                uint32_t(heap_split.size())};
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
      const size_t first = (i - level_start) * span;     // its leftmost leaf
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

void EvaluatorLayout::BuildRankTables() {
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
      rank_index[32 * k + i] =
          uint16_t(std::lower_bound(table[f].begin(), table[f].end(), heap_threshold[t.heap + i]) -
                   table[f].begin());
    }
  }
  use_ranks = true;
}

#ifndef __wasm_simd128__
namespace {

// Numbers the leaves below `node` left to right from *next; lo[n] / hi[n] of every split n: its
// left subtree's leaves are lo[n] .. hi[n] - 1.
void NumberLeaves(const Tree& tree, int node, int32_t* next, std::vector<int32_t>* leaf_index,
                  std::vector<int32_t>* lo, std::vector<int32_t>* hi) {
  if (tree.is_leaf(node)) {
    (*leaf_index)[size_t(node)] = (*next)++;
    return;
  }
  (*lo)[size_t(node)] = *next;
  NumberLeaves(tree, tree.left[size_t(node)], next, leaf_index, lo, hi);
  (*hi)[size_t(node)] = *next;
  NumberLeaves(tree, tree.right[size_t(node)], next, leaf_index, lo, hi);
}

}  // namespace

bool EvaluatorLayout::BuildDeepTables(const Model& model) {
  for (const Tree& tree : model.trees) {
    if (TreeDepth(tree) > kMaxDeepDepth) return false;
  }
  for (const Tree& tree : model.trees) {
    const size_t n = tree.size();
    std::vector<int32_t> leaf_index(n, -1), lo(n, 0), hi(n, 0), split_index(n, -1);
    int32_t leaves = 0;
    NumberLeaves(tree, 0, &leaves, &leaf_index, &lo, &hi);
    // Splits breadth-first.
    std::vector<int> order = {0}, splits;
    for (size_t i = 0; i < order.size(); ++i) {
      const int node = order[i];
      if (tree.is_leaf(node)) continue;
      split_index[size_t(node)] = int32_t(splits.size());
      splits.push_back(node);
      order.push_back(tree.left[size_t(node)]);
      order.push_back(tree.right[size_t(node)]);
    }
    DeepTree d;
    d.splits = uint32_t(deep_split.size());
    d.split_count = uint32_t(splits.size());
    d.links = uint32_t(deep_child.size());
    d.entries = uint32_t(deep_entry_column.size());
    d.leaves = uint32_t(deep_leaf.size());
    d.words = int16_t((leaves + 63) / 64);
    d.target_class = int16_t(tree.target_class);
    d.depth = TreeDepth(tree);
    // Node numbers: splits first, then leaves (their left-to-right index after the splits).
    auto number = [&](int node) {
      return uint16_t(tree.is_leaf(node) ? int32_t(splits.size()) + leaf_index[size_t(node)]
                                         : split_index[size_t(node)]);
    };
    for (int node : splits) {
      deep_split.push_back(tree.feature[size_t(node)] |
                           (tree.default_left[size_t(node)] ? kSimdDefaultLeftBit : 0));
      deep_threshold.push_back(tree.value[size_t(node)]);
      deep_child.push_back(number(tree.left[size_t(node)]));
      deep_child.push_back(number(tree.right[size_t(node)]));
      const int32_t first = lo[size_t(node)], last = hi[size_t(node)];  // [first, last)
      for (int32_t word = first / 64; word * 64 < last; ++word) {
        uint64_t left = 0;
        for (int32_t j = std::max(first, word * 64); j < std::min(last, word * 64 + 64); ++j) {
          left |= uint64_t(1) << (j - word * 64);
        }
        deep_entry_column.push_back(uint32_t(SplitSlot(tree, node)) * uint32_t(kBlockRows));
        deep_entry_threshold.push_back(tree.value[size_t(node)]);
        deep_entry_word.push_back(uint32_t(word));
        deep_entry_keep.push_back(~left);
      }
    }
    deep_leaf.resize(d.leaves + size_t(leaves), 0.0f);
    for (int32_t leaf = 0; leaf < leaves; ++leaf) {
      const uint16_t self = uint16_t(splits.size() + size_t(leaf));
      deep_child.push_back(self);
      deep_child.push_back(self);
    }
    for (size_t i = 0; i < n; ++i) {
      if (leaf_index[i] >= 0) deep_leaf[d.leaves + size_t(leaf_index[i])] = tree.value[i];
    }
    // Padding splits (to a multiple of 16) are compared, but no walk reads their bits.
    const size_t padded = (deep_split.size() + 15) / 16 * 16;
    deep_split.resize(padded, 0);
    deep_threshold.resize(padded, 0.0f);
    d.entry_count = uint32_t(deep_entry_column.size() - d.entries);
    deep_trees.push_back(d);
  }
  return true;
}
#endif

#ifdef __wasm_simd128__
namespace {

// Level-table building, one tree per call (functions of their own, not loop bodies: the
// WebAssembly engine can switch to optimized code for them part-way through a cold load).

// Adds a tree's thresholds to each feature's distinct thresholds, kept ascending by insertion
// (std::sort would add ~1 KB to the gzipped module). False past 255 (the 8-bit ranks).
__attribute__((noinline)) bool AddLevelThresholds(const Tree& tree, std::vector<float>* table) {
  for (size_t n = 0; n < tree.size(); ++n) {
    if (tree.is_leaf(n)) continue;
    const float value = tree.value[n];
    std::vector<float>& thresholds = table[tree.feature[n]];
    const auto at = std::lower_bound(thresholds.begin(), thresholds.end(), value);
    if (at != thresholds.end() && *at == value) continue;
    if (thresholds.size() == 255) return false;
    const size_t position = size_t(at - thresholds.begin());
    thresholds.push_back(value);
    for (size_t j = thresholds.size() - 1; j > position; --j) thresholds[j] = thresholds[j - 1];
    thresholds[position] = value;
  }
  return true;
}

// One tree into its byte lane of its group's tables, laid out at the group's depth: each
// split's slot (feature, + kNumFeatures if missing values go left) and threshold index at its
// heap position, 16 bytes apart; its leaves at `leaves` (2^depth, a leaf above the bottom
// repeated over those it covers). Padding nodes keep slot 0, index 0: every leaf under them
// holds the same value, whichever way they go. A split at the bottom goes to the walked nodes
// (`deep`, see EvaluatorLayout::level_deep).
__attribute__((noinline)) void SetLevelLane(EvaluatorLayout* layout, const Tree& tree,
                                            uint32_t depth, const std::vector<float>* table,
                                            uint8_t* slot, uint8_t* index, float* leaves,
                                            uint32_t* deep) {
  struct Item {
    int32_t node;
    uint32_t heap;
    uint32_t depth;
  };
  Item stack[2 * kMaxLevelDepth + 2];  // depth-first: at most one pending sibling per level
  size_t top = 0;
  stack[top++] = {0, 0, 0};
  while (top > 0) {
    const Item it = stack[--top];
    const float value = tree.value[size_t(it.node)];
    if (tree.is_leaf(it.node) || it.depth == depth) {
      const uint32_t span = 1u << (depth - it.depth);
      const uint32_t first = (it.heap - ((1u << it.depth) - 1)) * span;
      if (!tree.is_leaf(it.node)) {
        deep[first] = layout->AddWalkedNodes(tree, it.node) + 1;
        continue;
      }
      for (uint32_t j = 0; j < span; ++j) leaves[first + j] = value;
      continue;
    }
    const int feature = tree.feature[size_t(it.node)];
    const std::vector<float>& thresholds = table[feature];
    slot[kLevelLanes * it.heap] = uint8_t(SplitSlot(tree, it.node));
    index[kLevelLanes * it.heap] =
        uint8_t(std::lower_bound(thresholds.begin(), thresholds.end(), value) - thresholds.begin());
    stack[top++] = {tree.right[size_t(it.node)], 2 * it.heap + 2, it.depth + 1};
    stack[top++] = {tree.left[size_t(it.node)], 2 * it.heap + 1, it.depth + 1};
  }
}

}  // namespace

// Straight from the model's trees (no complete-tree layout first): a cold page load runs this
// as baseline-compiled code. Returns false, leaving the layout as it was, if the model does not
// fit the tables. Precondition: the model passes CheckModel().
bool EvaluatorLayout::BuildWasmLevelTables(const Model& model) {
  const size_t tree_count = model.trees.size();
  std::vector<float> table[kNumFeatures];
  std::vector<LevelGroup> groups((tree_count + kLevelLanes - 1) / kLevelLanes);
  int max_depth = 0;
  for (size_t k = 0; k < tree_count; ++k) {
    const Tree& tree = model.trees[k];
    const int depth = TreeDepth(tree);
    if (tree.target_class != int(k % kNumClasses) || depth > kMaxLevelTreeDepth ||
        !AddLevelThresholds(tree, table)) {
      return false;
    }
    max_depth = std::max(max_depth, depth);
    LevelGroup& g = groups[k / kLevelLanes];
    g.depth = std::max(g.depth, uint32_t(std::min(depth, kMaxLevelDepth)));
    g.deep = g.deep || depth > kMaxLevelDepth;
  }
  size_t node_bytes = 0, leaf_count = 0;
  for (LevelGroup& g : groups) {
    g.depth = std::max(g.depth, uint32_t(kLevelDepth));
    g.nodes = uint32_t(node_bytes);
    g.leaves = uint32_t(leaf_count);
    node_bytes += ((size_t(1) << g.depth) - 1) * kLevelLanes;
    leaf_count += (size_t(1) << g.depth) * kLevelLanes;
  }
  level_slot = std::vector<uint8_t>(node_bytes, 0);
  level_index = std::vector<uint8_t>(node_bytes, 0);
  level_leaf = std::vector<float>(leaf_count, -0.0f);
  if (max_depth > kMaxLevelDepth) level_deep = std::vector<uint32_t>(leaf_count, 0);
  for (size_t k = 0; k < tree_count; ++k) {
    const LevelGroup& g = groups[k / kLevelLanes];
    const size_t leaves = g.leaves + ((k % kLevelLanes) << g.depth);
    SetLevelLane(this, model.trees[k], g.depth, table, &level_slot[g.nodes + k % kLevelLanes],
                 &level_index[g.nodes + k % kLevelLanes], &level_leaf[leaves],
                 g.deep ? &level_deep[leaves] : nullptr);
  }
  for (int f = 0; f < kNumFeatures; ++f) {
    rank_start[f + 1] = rank_start[f] + uint32_t(table[f].size());
    for (float threshold : table[f]) rank_table.push_back(threshold);
  }
  level_groups = std::move(groups);
  level_tree_count = tree_count;
  level_max_depth = max_depth;
  use_wasm_levels = true;
  return true;
}
#endif

}  // namespace internal
}  // namespace fetal
