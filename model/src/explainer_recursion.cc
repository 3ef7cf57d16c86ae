// The explainer's per-tree recursion, for the trees its groups do not take (deeper than 6, or
// more than kShapGroupNodes nodes): the same numbers as the group kernel, one tree at a time.
// Off the default model's path, so the WebAssembly build compiles it for size.
#include <cstdint>
#include <cstring>

#include "explainer_layout.h"

namespace fetal {
namespace internal {

void ExplainTreeRecursively(const ShapTrees& tree, int points, const float* slots, int node,
                            const float* down, uint32_t failed, float* up, float* phi) {
  if (tree.left[size_t(node)] < 0) {
    for (int q = 0; q < points; ++q) up[q] = tree.value[size_t(node)];
    return;
  }
  const int rows = ShapBlockRows(points);
  const float* b = &tree.blocks[size_t(node) * size_t(rows)];
  const int extra = 3 * points;
  int32_t slot, bit;
  std::memcpy(&slot, b + extra + kSlot, sizeof(slot));
  std::memcpy(&bit, b + extra + kFeatureBit, sizeof(bit));
  const bool left = slots[slot] < b[extra + kThreshold];
  const bool agree = (failed & uint32_t(bit)) == 0;
  float factor[kShapMaxPoints], down_left[kShapMaxPoints], down_right[kShapMaxPoints],
      up_left[kShapMaxPoints], up_right[kShapMaxPoints];
  for (int q = 0; q < points; ++q) {
    factor[q] = agree ? (left ? b[points + q] : b[q]) : b[extra + kZ];
    down_left[q] = down[q] * factor[q];
    down_right[q] = down[q] - down_left[q];
  }
  ExplainTreeRecursively(tree, points, slots, tree.left[size_t(node)], down_left,
                         failed | (left ? 0u : uint32_t(bit)), up_left, phi);
  ExplainTreeRecursively(tree, points, slots, tree.right[size_t(node)], down_right,
                         failed | (left ? uint32_t(bit) : 0u), up_right, phi);
  float sum = 0;
  for (int q = 0; q < points; ++q) {
    const float diff = up_left[q] - up_right[q];
    up[q] = up_right[q] + factor[q] * diff;
    sum = sum + down[q] * diff * b[2 * points + q];
  }
  if (agree) {
    const float beta = b[extra + (left ? kBetaLeft : kBetaRight)];
    phi[__builtin_ctz(uint32_t(bit))] += sum * beta;
  }
}

}  // namespace internal
}  // namespace fetal
