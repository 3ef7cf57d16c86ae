// Evaluator: class probabilities from a Model, with XGBoost's exact semantics.
//
// Split rule: (float)x < threshold goes left; NaN goes to the default child. Margin = base score
// + sum of leaf values of the class's trees. Raw probabilities = softmax(margin) (what libxgboost
// predicts); calibrated probabilities = softmax(margin / temperature).
// No allocation and no exceptions on the prediction path; all output buffers belong to the caller.
//
// Thread-safety: immutable after Create(); every const method may be called concurrently.
#pragma once

#include <cstddef>
#include <memory>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

namespace internal {
struct EvaluatorLayout;  // model/src/evaluator_layout.h
}  // namespace internal

class Evaluator {
 public:
  // Compiles `model` into the evaluator's layout. The evaluator keeps no reference to `model`.
  // Fails for a model CheckModel() refuses.
  static Status Create(const Model& model, std::unique_ptr<Evaluator>* out);
  ~Evaluator();

  // margins[kNumClasses] for one exam of kNumFeatures floats.
  void Margins(const float* features, float* margins) const;
  // Calibrated probabilities (temperature applied) for one exam.
  void Predict(const float* features, float* probabilities) const;
  // Raw softmax probabilities (temperature 1), identical to libxgboost's predict.
  void PredictRaw(const float* features, float* probabilities) const;
  // n exams, row-major (n * kNumFeatures) -> n * kNumClasses calibrated probabilities.
  void PredictBatch(const float* features, size_t n, float* probabilities) const;
  void PredictBatchRaw(const float* features, size_t n, float* probabilities) const;

  double temperature() const { return temperature_; }
  // The deepest tree's depth (splits on its longest root-to-leaf path).
  int max_depth() const { return max_depth_; }

 private:
  friend class Classifier;  // compiles the model it has just checked once, not twice
  Evaluator() = default;
  // Create() without CheckModel(). Precondition: CheckModel(model) is ok (the caller has just
  // run it, or ReadBundle has just returned ok for `model`).
  static Status CreateChecked(const Model& model, std::unique_ptr<Evaluator>* out);
  std::unique_ptr<internal::EvaluatorLayout> layout_;
  double temperature_ = 1.0;
  int max_depth_ = 0;
};

// softmax(margins / temperature) for one exam: what Predict (the model's temperature) and
// PredictRaw (temperature 1) compute from Margins(), for a caller that already has the margins.
// Precondition: temperature > 0.
void ProbabilitiesFromMargins(const float* margins, double temperature, float* probabilities);

// Index of the largest probability (ties go to the lower class).
int ArgMax(const float* probabilities);

}  // namespace fetal
