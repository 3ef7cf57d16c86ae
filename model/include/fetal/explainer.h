// Explainer: exact TreeSHAP feature contributions, fast.
//
// For each class c the output row holds kNumFeatures contributions followed by the bias term;
// the row sums to the class margin (before temperature), as libxgboost's pred_contribs does,
// and every value equals pred_contribs' up to float rounding (tests: within 1e-4 on every
// dataset row, with missing values).
//
// How (model/src/explainer.cc): the path-dependent TreeSHAP value of a feature is an integral
// over t in [0, 1] of a polynomial of degree < tree depth (the multilinear extension of each
// leaf's game); it splits into one term per split node, D(node, t) * e'(t) * (U(left, t) -
// U(right, t)), where D is the product of the edge factors above the node and U the
// edge-factor-weighted sum of the leaves below. Gauss-Legendre quadrature with ceil(depth / 2)
// points integrates it exactly, so one exam costs O(nodes x depth) instead of recursive
// TreeSHAP's O(leaves x depth^2). Everything that does not depend on the exam (edge factors at
// the quadrature points for both directions, repeated-feature corrections, bias) is computed
// once by Create(); in models at most 6 deep, trees are processed 16 (AVX-512) or 4 (elsewhere)
// at a time, one per vector lane (deeper or larger trees: one at a time, the same numbers). The
// results do not depend on the lane count: native and WebAssembly builds give the same bits.
//
// Thread-safety: immutable after Create(); Explain() may be called concurrently.
#pragma once

#include <cstddef>
#include <memory>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

inline constexpr int kContributionsPerClass = kNumFeatures + 1;
// Deeper trees are refused (and the quadrature would need more than 32 points).
inline constexpr int kMaxExplainDepth = 64;

namespace internal {
struct ExplainerLayout;  // model/src/explainer_layout.h
}  // namespace internal

class Explainer {
 public:
  // Fails only for a model CheckModel() refuses or a tree deeper than kMaxExplainDepth.
  static Status Create(const Model& model, std::unique_ptr<Explainer>* out);
  ~Explainer();

  // contributions[kNumClasses * kContributionsPerClass] for one exam of kNumFeatures floats
  // (NaN = missing). No allocation: scratch space is on the stack (tens of KB).
  void Explain(const float* features, float* contributions) const;
  // n exams, row-major -> n * kNumClasses * kContributionsPerClass contributions.
  void ExplainBatch(const float* features, size_t n, float* contributions) const;

  // Bytes of the precomputed state (tables, trees) this explainer holds.
  size_t memory_bytes() const;

 private:
  friend class Classifier;  // builds it for the model it has checked, without a second check
  Explainer() = default;
  // Create() without CheckModel(). Precondition: CheckModel(model) is ok.
  static Status CreateChecked(const Model& model, std::unique_ptr<Explainer>* out);
  std::unique_ptr<internal::ExplainerLayout> layout_;
};

// Refuses what explanations do not support: a model CheckModel() refuses or a tree deeper
// than kMaxExplainDepth. Sets *max_depth to the deepest tree's depth.
Status CheckExplainable(const Model& model, int* max_depth);

// A tree's expected value, as libxgboost's FillNodeMeanValue computes it: the cover-weighted
// mean of its leaves, in float. Precondition: the tree passes CheckModel().
float TreeExpectedValue(const Tree& tree);

}  // namespace fetal
