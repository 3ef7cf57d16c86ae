// Explainer: builds the layout (explainer_layout.{h,cc}) and runs each exam through the group
// kernel (explainer_kernel.h; AVX-512 where the CPU has it, else 4 lanes) and the per-tree
// recursion (explainer_recursion.cc) for the trees groups do not take. The math is in
// explainer_layout.h.
#include "fetal/explainer.h"

#include <algorithm>

#include "evaluator_layout.h"
#include "explainer_kernel.h"
#include "explainer_layout.h"

namespace fetal {

using internal::ExplainerLayout;

namespace internal {

void ExplainGroupsPortable(const ExplainerLayout& layout, const float* slots, float* out) {
  static_assert(kShapPortableLanes == 4, "ScalarGoLeft is written for 4 lanes");
  ExplainGroups<kShapPortableLanes>(layout, ScalarGoLeft{slots}, out);
}

}  // namespace internal

Explainer::~Explainer() = default;

Status Explainer::Create(const Model& model, std::unique_ptr<Explainer>* out) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  return CreateChecked(model, out);
}

Status Explainer::CreateChecked(const Model& model, std::unique_ptr<Explainer>* out) {
  int max_depth = 0;
  Status s = internal::CheckExplainDepth(model, &max_depth);
  if (!s.ok()) return s;
  std::unique_ptr<Explainer> explainer(new Explainer());
  explainer->layout_.reset(new ExplainerLayout());
  int lanes = internal::kShapPortableLanes;
#ifdef FETAL_HAVE_AVX512
  if (internal::UseAvx512Kernels()) lanes = internal::kShapAvx512Lanes;
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
  const std::vector<uint32_t>& roots = layout.trees.roots;
  for (size_t k = 0; k < roots.size(); k += 2) {
    for (int q = 0; q < layout.points; ++q) down[q] = layout.weight[size_t(q)];
    internal::ExplainTreeRecursively(layout.trees, layout.points, slots, int(roots[k]), down, 0, up,
                                     contributions + roots[k + 1] * kContributionsPerClass);
  }
}

void Explainer::ExplainBatch(const float* features, size_t n, float* contributions) const {
  for (size_t i = 0; i < n; ++i) {
    Explain(features + i * kNumFeatures, contributions + i * kNumClasses * kContributionsPerClass);
  }
}

size_t Explainer::memory_bytes() const { return layout_->MemoryBytes(); }

}  // namespace fetal
