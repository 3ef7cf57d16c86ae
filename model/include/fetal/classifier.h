// Classifier: the one place where an exam is classified.
//
// Owns a Model with its Evaluator and Explainer and runs every step the product shows beside a
// verdict, in one order: validate (hard limits, cross-field rules, training-range warnings) ->
// probabilities (calibrated and raw) and margins -> conformal prediction set -> TreeSHAP
// contributions -> out-of-distribution check -> FIGO rule cross-check -> whether to refer the
// exam for senior review. The trees see the model's inputs (model.h ModelInputs); every other
// step reads the exam's features as entered. The WebAssembly API, `fetal-model predict` and the
// server are serialisers over Classify(); none of them repeats these steps.
//
// Thread-safety: a Classifier is immutable after Create(). Every const method may be called
// concurrently from any number of threads (the explainer is built once, under a mutex, by the
// first explanation, and is itself thread-safe).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/figo.h"
#include "fetal/model.h"
#include "fetal/ood.h"
#include "fetal/status.h"
#include "fetal/validator.h"

namespace fetal {

// What Classify() computes beyond probabilities.
struct ClassifyOptions {
  bool explain = true;  // fill Classification::contributions (TreeSHAP; the costly step)
};

struct Classification {
  // Validator findings in feature order, errors before warnings. When any is an error the exam
  // is not classified: `classified` is false and no field below is set.
  std::vector<Finding> findings;
  bool classified = false;

  int predicted_class = -1;                            // ArgMax of `probabilities`
  std::array<float, kNumClasses> probabilities{};      // softmax(margin / temperature)
  std::array<float, kNumClasses> raw_probabilities{};  // softmax(margin), libxgboost's predict
  std::array<float, kNumClasses> margins{};            // base score + leaf values, per class

  // The conformal prediction set (model.h ConformalSets): bit c is set when class c is in it. It
  // always holds predicted_class. 0 when the model carries no sets.
  unsigned prediction_set = 0;

  // kNumClasses * kContributionsPerClass TreeSHAP values (see explainer.h) over the model's
  // inputs (a re-expressed input's value is attributed to that input); empty unless
  // ClassifyOptions::explain.
  std::vector<float> contributions;

  // Mahalanobis check. Without a usable OOD reference in the bundle (has_ood_reference false),
  // distance and threshold are NaN and out_of_distribution is false; out_of_range is still
  // filled from the training range.
  bool has_ood_reference = false;
  OodResult ood;

  FigoResult figo;

  // The result says "refer for senior review": the prediction set holds more than one class, or
  // the exam is unlike the training data (Mahalanobis flag or a feature outside the training
  // range).
  bool refer_for_review = false;

  // Number of findings with Severity::kWarning.
  size_t warning_count() const;
};

class Classifier {
 public:
  // Compiles `model` (taken by value and kept) into an evaluator. The explainer is built by the
  // first explanation, not here: a browser's first prediction does not wait for it.
  // Fails for a model CheckModel() refuses or one too deep to explain (kMaxExplainDepth).
  static Status Create(Model model, std::unique_ptr<Classifier>* out);
  // ReadBundle(data, size, options) then Create(), the model checked once (ReadBundle's check)
  // rather than twice: what a browser's model load runs. Fails as either would; `data` is only
  // read during the call.
  static Status CreateFromBundle(const uint8_t* data, size_t size, const BundleReadOptions& options,
                                 std::unique_ptr<Classifier>* out);
  ~Classifier();

  const Model& model() const { return model_; }
  const Evaluator& evaluator() const { return *evaluator_; }
  // True if the bundle carries a usable Mahalanobis reference (21x21 inverse covariance,
  // positive finite scales, finite threshold).
  bool has_ood_reference() const { return has_ood_reference_; }

  // Every step, for one exam of kNumFeatures floats in schema order (NaN = missing).
  // Never fails for a well-formed model; *out is overwritten.
  void Classify(const float* features, const ClassifyOptions& options, Classification* out) const;

  // The fast path: calibrated probabilities only, no validation, no allocation.
  void Predict(const float* features, float* probabilities) const {
    float inputs[kNumFeatures];
    ModelInputs(model_.input_differences, features, inputs);
    evaluator_->Predict(inputs, probabilities);
  }
  // n exams row-major -> n * kNumClasses calibrated probabilities; no validation, no allocation.
  void PredictBatch(const float* features, size_t n, float* probabilities) const;
  // TreeSHAP contributions of one exam into contributions[kNumClasses * kContributionsPerClass],
  // over the model inputs (as Classification::contributions).
  void Explain(const float* features, float* contributions) const;
  // n exams row-major -> n * kNumClasses * kContributionsPerClass contributions, each exam's the
  // same bits as Explain's; no validation, no allocation.
  void ExplainBatch(const float* features, size_t n, float* contributions) const;

 private:
  Classifier() = default;
  // Create() without CheckModel(). Precondition: CheckModel(model) is ok.
  static Status CreateChecked(Model model, std::unique_ptr<Classifier>* out);
  const Explainer& GetExplainer() const;

  Model model_;
  std::unique_ptr<Evaluator> evaluator_;
  bool has_ood_reference_ = false;
  mutable std::mutex explainer_mu_;
  mutable std::unique_ptr<Explainer> explainer_;  // built by the first explanation
};

// True if `model.ood` is a usable Mahalanobis reference (see Classifier::has_ood_reference).
bool HasUsableOodReference(const Model& model);

// The agreement rule between a browser's result and the server's re-evaluation of the same exam
// with the same model version: same class, and no probability further apart than
// kAgreementTolerance. Native and WebAssembly kernels sum the same float32 leaves in the same
// order, so they agree bit for bit in practice; the tolerance only absorbs a client that rounds
// its probabilities for transport (JSON with 6+ significant digits).
inline constexpr double kAgreementTolerance = 1e-4;

struct Agreement {
  bool agree = false;
  double max_abs_difference = 0;  // largest |client - server| over the classes
};

// Precondition: server.classified.
Agreement CompareResults(int client_class,
                         const std::array<double, kNumClasses>& client_probabilities,
                         const Classification& server);

}  // namespace fetal
