// Explainer: builds the layout (explainer_layout.{h,cc}) and runs each exam through the group
// kernel (explainer_kernel.h; AVX-512 where the CPU has it, else 4 lanes) and the per-tree
// recursion for the trees groups do not take. The math is in explainer_layout.h.
#include "fetal/explainer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "evaluator_layout.h"
#include "explainer_kernel.h"
#include "explainer_layout.h"

namespace fetal {

using internal::ExplainerLayout;
using internal::ShapBlockRows;
using internal::ShapTree;

namespace {

// One tree's contributions by recursion, in the same numbers as the group kernel (one lane).
// `down` holds D at `node` for every quadrature point; *failed the features some ancestor
// disagreed on. Writes U at `node` into `up`.
void ExplainTreeGeneric(const ShapTree& tree, int points, const float* slots, int node,
                        const float* down, uint32_t failed, float* up, float* phi) {
  if (tree.left[size_t(node)] < 0) {
    for (int q = 0; q < points; ++q) up[q] = tree.value[size_t(node)];
    return;
  }
  const int rows = ShapBlockRows(points);
  const float* b = &tree.blocks[size_t(node) * size_t(rows)];
  const int extra = 3 * points;
  int32_t slot, bit;
  std::memcpy(&slot, b + extra + internal::kSlot, sizeof(slot));
  std::memcpy(&bit, b + extra + internal::kFeatureBit, sizeof(bit));
  const bool left = slots[slot] < b[extra + internal::kThreshold];
  const bool agree = (failed & uint32_t(bit)) == 0;
  float factor[internal::kShapMaxPoints], down_left[internal::kShapMaxPoints],
      down_right[internal::kShapMaxPoints], up_left[internal::kShapMaxPoints],
      up_right[internal::kShapMaxPoints];
  for (int q = 0; q < points; ++q) {
    factor[q] = agree ? (left ? b[points + q] : b[q]) : b[extra + internal::kZ];
    down_left[q] = down[q] * factor[q];
    down_right[q] = down[q] - down_left[q];
  }
  ExplainTreeGeneric(tree, points, slots, tree.left[size_t(node)], down_left,
                     failed | (left ? 0u : uint32_t(bit)), up_left, phi);
  ExplainTreeGeneric(tree, points, slots, tree.right[size_t(node)], down_right,
                     failed | (left ? uint32_t(bit) : 0u), up_right, phi);
  float sum = 0;
  for (int q = 0; q < points; ++q) {
    const float diff = up_left[q] - up_right[q];
    up[q] = up_right[q] + factor[q] * diff;
    sum = sum + down[q] * diff * b[2 * points + q];
  }
  if (agree) {
    const float beta = b[extra + (left ? internal::kBetaLeft : internal::kBetaRight)];
    phi[__builtin_ctz(uint32_t(bit))] += sum * beta;
  }
}

#ifdef FETAL_HAVE_AVX512
bool UseAvx512() {
  // FETAL_EVALUATOR_KERNEL=scalar forces the portable kernels (tests compare both).
  const char* kernel = std::getenv("FETAL_EVALUATOR_KERNEL");
  return internal::CpuHasAvx512() && !(kernel && std::string(kernel) == "scalar");
}
#endif

}  // namespace

namespace internal {

void ExplainGroupsPortable(const ExplainerLayout& layout, const float* slots, float* out) {
  static_assert(kShapPortableLanes == 4, "ScalarGoLeft is written for 4 lanes");
  ExplainGroups<kShapPortableLanes>(layout, ScalarGoLeft{slots}, out);
}

}  // namespace internal

Status CheckExplainable(const Model& model, int* max_depth) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  *max_depth = 0;
  for (size_t t = 0; t < model.trees.size(); ++t) {
    const int depth = TreeDepth(model.trees[t]);
    if (depth > kMaxExplainDepth) {
      return Status::Unsupported("tree " + std::to_string(t) + " has depth " +
                                 std::to_string(depth) + "; explanations support depth up to " +
                                 std::to_string(kMaxExplainDepth));
    }
    *max_depth = std::max(*max_depth, depth);
  }
  return Status::Ok();
}

namespace {
float ExpectedValueBelow(const Tree& tree, int node) {
  if (tree.is_leaf(node)) return tree.value[size_t(node)];
  const int l = tree.left[size_t(node)], r = tree.right[size_t(node)];
  float result = ExpectedValueBelow(tree, l) * tree.cover[size_t(l)];
  result += ExpectedValueBelow(tree, r) * tree.cover[size_t(r)];
  return result / tree.cover[size_t(node)];
}
}  // namespace

float TreeExpectedValue(const Tree& tree) { return ExpectedValueBelow(tree, 0); }

Explainer::~Explainer() = default;

Status Explainer::Create(const Model& model, std::unique_ptr<Explainer>* out) {
  int max_depth = 0;
  Status s = CheckExplainable(model, &max_depth);
  if (!s.ok()) return s;
  std::unique_ptr<Explainer> explainer(new Explainer());
  explainer->layout_.reset(new ExplainerLayout());
  int lanes = internal::kShapPortableLanes;
#ifdef FETAL_HAVE_AVX512
  if (UseAvx512()) lanes = internal::kShapAvx512Lanes;
#endif
  internal::BuildExplainerLayout(model, max_depth, lanes, explainer->layout_.get());
  *out = std::move(explainer);
  return Status::Ok();
}

void Explainer::Explain(const float* features, float* contributions) const {
  const ExplainerLayout& layout = *layout_;
  float slots[internal::kSlots];
  internal::ExpandRow(features, slots);
  std::fill(contributions, contributions + kNumClasses * kContributionsPerClass, 0.0f);
  for (int c = 0; c < kNumClasses; ++c) {
    contributions[c * kContributionsPerClass + kNumFeatures] = layout.bias[size_t(c)];
  }
#ifdef FETAL_HAVE_AVX512
  if (layout.groups.lanes == internal::kShapAvx512Lanes) {
    internal::ExplainGroupsAvx512(layout, slots, contributions);
  } else {
    internal::ExplainGroupsPortable(layout, slots, contributions);
  }
#else
  internal::ExplainGroupsPortable(layout, slots, contributions);
#endif
  float down[internal::kShapMaxPoints], up[internal::kShapMaxPoints];
  for (const ShapTree& tree : layout.trees) {
    for (int q = 0; q < layout.points; ++q) down[q] = layout.weight[size_t(q)];
    ExplainTreeGeneric(tree, layout.points, slots, 0, down, 0, up,
                       contributions + tree.target_class * kContributionsPerClass);
  }
}

void Explainer::ExplainBatch(const float* features, size_t n, float* contributions) const {
  for (size_t i = 0; i < n; ++i) {
    Explain(features + i * kNumFeatures, contributions + i * kNumClasses * kContributionsPerClass);
  }
}

size_t Explainer::memory_bytes() const { return layout_->MemoryBytes(); }

}  // namespace fetal
