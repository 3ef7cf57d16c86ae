// Portable kernels: the scalar path of the native build. Complete trees of one depth are walked
// as heaps (CompleteTreeBlock); when the layout has packed nodes (EvaluatorLayout::BuildPacked)
// one exam walks six trees at once and a block walks four rows at once; deeper trees walk their
// nodes (TreeValue). The WebAssembly build keeps only the node walk, for the models its level
// tables do not take (evaluator.cc): every byte of the module counts.
#include "evaluator_layout.h"

#include <cstring>

namespace fetal {
namespace internal {

#ifndef __wasm_simd128__
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
template <int kDepth>
void PackedMargins(const EvaluatorLayout& layout, const float* slots, float* margins) {
  using Node = EvaluatorLayout::PackedNode;
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
template <int kDepth>
void PackedBlockMargins(const EvaluatorLayout& layout, const float* slots, size_t rows,
                        float* margins) {
  using Node = EvaluatorLayout::PackedNode;
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

constexpr int kMinPackedBlockDepth = kMinPackedDepth;

bool PackedDispatch(const EvaluatorLayout& layout, const float* slots, size_t rows,
                    float* margins) {
  // rows == 0: one exam (Margins); else a block.
#define FETAL_PACKED_CASE(D)                               \
  case D:                                                  \
    if (rows == 0) {                                       \
      PackedMargins<D>(layout, slots, margins);            \
    } else if (D >= kMinPackedBlockDepth) {                \
      PackedBlockMargins<D>(layout, slots, rows, margins); \
    } else {                                               \
      return false;                                        \
    }                                                      \
    return true;
  switch (layout.packed_depth) {
    FETAL_PACKED_CASE(4)
    FETAL_PACKED_CASE(5)
    FETAL_PACKED_CASE(6)
    default: return false;
  }
#undef FETAL_PACKED_CASE
}

}  // namespace
#endif  // !__wasm_simd128__

inline float EvaluatorLayout::TreeValue(const CompiledTree& t, const float* slots) const {
#ifndef __wasm_simd128__
  if (t.depth >= 0) {
    const float* block = values.data() + t.block;
    const uint8_t* feature_slot = slot.data() + t.slots;
    size_t i = 0;
    for (int d = 0; d < t.depth; ++d) {
      i = 2 * i + 1 + size_t(slots[feature_slot[i]] >= block[i]);
    }
    return block[i];
  }
#endif
  return Walk(nodes.data() + t.block, slots);
}

void EvaluatorLayout::Margins(const float* slots, float* margins) const {
  // `slots` is the expanded row (see top of file).
  for (int c = 0; c < kNumClasses; ++c) margins[c] = base_score[c];
#ifndef __wasm_simd128__
  if (packed_depth >= 0 && PackedDispatch(*this, slots, 0, margins)) return;
#endif
  for (const CompiledTree& t : trees) margins[t.target_class] += TreeValue(t, slots);
}

#ifndef __wasm_simd128__
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
constexpr BlockFunction kBlockFunctions[kMaxCompleteDepth + 1] =
    {CompleteTreeBlock<0>, CompleteTreeBlock<1>, CompleteTreeBlock<2>, CompleteTreeBlock<3>,
     CompleteTreeBlock<4>, CompleteTreeBlock<5>, CompleteTreeBlock<6>, CompleteTreeBlock<7>,
     CompleteTreeBlock<8>, CompleteTreeBlock<9>, CompleteTreeBlock<10>};

}  // namespace
#endif

void EvaluatorLayout::BlockMargins(const float* slots, size_t rows, float* margins) const {
  for (size_t r = 0; r < rows; ++r) {
    for (int c = 0; c < kNumClasses; ++c) margins[r * kNumClasses + c] = base_score[c];
  }
#ifndef __wasm_simd128__
  if (rows > 0 && packed_depth >= 0 && PackedDispatch(*this, slots, rows, margins)) return;
#endif
  for (const CompiledTree& t : trees) {
#ifndef __wasm_simd128__
    if (t.depth >= 0) {
      kBlockFunctions[t.depth](values.data() + t.block, slot.data() + t.slots, slots, rows, margins,
                               t.target_class);
      continue;
    }
#endif
    {
      for (size_t r = 0; r < rows; ++r) {
        margins[r * kNumClasses + t.target_class] += TreeValue(t, slots + r * kSlots);
      }
    }
  }
}

}  // namespace internal
}  // namespace fetal
