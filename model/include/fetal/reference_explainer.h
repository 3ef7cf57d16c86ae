// ReferenceExplainer: exact TreeSHAP as libxgboost computes it (Lundberg, Erion & Lee 2018,
// Algorithm 2, arranged as RegTree::TreeShap), kept as the reference the fast Explainer
// (explainer.h) is tested and benchmarked against. Native builds only: the WebAssembly build
// ships the fast Explainer alone.
//
// Output layout as Explainer::Explain. O(trees x leaves x depth^2) per exam.
#pragma once

#include <memory>

#include "fetal/explainer.h"
#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

class ReferenceExplainer {
 public:
  // Fails only for a model CheckModel() refuses or a tree deeper than kMaxExplainDepth.
  static Status Create(const Model& model, std::unique_ptr<ReferenceExplainer>* out);
  ~ReferenceExplainer();

  // contributions[kNumClasses * kContributionsPerClass] for one exam. Uses internal scratch
  // space sized at Create(), so it does not allocate; not safe to call concurrently on one
  // ReferenceExplainer (make one per thread).
  void Explain(const float* features, float* contributions) const;

 private:
  ReferenceExplainer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetal
