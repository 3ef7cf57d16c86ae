// Explainer: exact TreeSHAP feature contributions (Lundberg et al., Algorithm 2).
//
// For each class c the output row holds kNumFeatures contributions followed by the bias term;
// the row sums to the class margin (before temperature), exactly as libxgboost's pred_contribs.
#pragma once

#include <memory>
#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

inline constexpr int kContributionsPerClass = kNumFeatures + 1;
// The recursion keeps one path entry per level: deeper trees are refused.
inline constexpr int kMaxExplainDepth = 64;

class Explainer {
 public:
  // Fails only for a model CheckModel() refuses or a tree deeper than kMaxExplainDepth.
  static Status Create(const Model& model, std::unique_ptr<Explainer>* out);
  ~Explainer();

  // contributions[kNumClasses * kContributionsPerClass] for one exam. Uses internal scratch
  // space sized at Create(), so it does not allocate; not safe to call concurrently on one
  // Explainer (make one per thread).
  void Explain(const float* features, float* contributions) const;

 private:
  Explainer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetal
