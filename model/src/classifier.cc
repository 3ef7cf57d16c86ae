#include "fetal/classifier.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace fetal {

size_t Classification::warning_count() const {
  size_t n = 0;
  for (const Finding& f : findings) n += f.severity == Severity::kWarning;
  return n;
}

bool HasUsableOodReference(const Model& model) {
  if (model.ood.inverse_covariance.size() != static_cast<size_t>(kNumFeatures * kNumFeatures)) {
    return false;
  }
  for (double s : model.ood.scale) {
    if (!(s > 0) || !std::isfinite(s)) return false;
  }
  return std::isfinite(model.ood.threshold);
}

Classifier::~Classifier() = default;

Status Classifier::Create(Model model, std::unique_ptr<Classifier>* out) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  return CreateChecked(std::move(model), out);
}

Status Classifier::CreateFromBundle(const uint8_t* data, size_t size,
                                    const BundleReadOptions& options,
                                    std::unique_ptr<Classifier>* out) {
  Model model;
  Status s = ReadBundle(data, size, &model, options);  // a model it returns passes CheckModel
  if (!s.ok()) return s;
  return CreateChecked(std::move(model), out);
}

Status Classifier::CreateChecked(Model model, std::unique_ptr<Classifier>* out) {
  std::unique_ptr<Classifier> classifier(new Classifier());
  classifier->model_ = std::move(model);
  Status s = Evaluator::CreateChecked(classifier->model_, &classifier->evaluator_);
  if (!s.ok()) return s;
  // Past the depth limit Explainer::Create refuses the model: let it say so now. Below it the
  // explainer cannot fail (the model passed CheckModel) and is built on first use.
  if (classifier->evaluator_->max_depth() > kMaxExplainDepth) {
    std::unique_ptr<Explainer> explainer;
    s = Explainer::CreateChecked(classifier->model_, &explainer);
    if (!s.ok()) return s;
  }
  classifier->has_ood_reference_ = HasUsableOodReference(classifier->model_);
  *out = std::move(classifier);
  return Status::Ok();
}

const Explainer& Classifier::GetExplainer() const {
  std::lock_guard<std::mutex> lock(explainer_mu_);
  // Cannot fail: Create() checked the model and its depth.
  if (!explainer_) Explainer::CreateChecked(model_, &explainer_);
  return *explainer_;
}

namespace {

// Calls step(inputs, rows, first_row) over blocks of at most kChunk exams' model inputs, held on
// the stack, so the batch paths allocate nothing. Without re-expressed inputs the exams are the
// inputs and pass through in one block.
template <typename Step>
void ForEachInputBlock(const std::vector<InputDifference>& differences, const float* features,
                       size_t n, Step step) {
  if (differences.empty()) return step(features, n, size_t{0});
  constexpr size_t kChunk = 64;
  float inputs[kChunk * kNumFeatures];
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t rows = std::min(kChunk, n - start);
    for (size_t r = 0; r < rows; ++r) {
      ModelInputs(differences, features + (start + r) * kNumFeatures, inputs + r * kNumFeatures);
    }
    step(inputs, rows, start);
  }
}

}  // namespace

void Classifier::PredictBatch(const float* features, size_t n, float* probabilities) const {
  ForEachInputBlock(model_.input_differences, features, n,
                    [&](const float* inputs, size_t rows, size_t start) {
                      evaluator_->PredictBatch(inputs, rows, probabilities + start * kNumClasses);
                    });
}

void Classifier::Explain(const float* features, float* contributions) const {
  float inputs[kNumFeatures];
  ModelInputs(model_.input_differences, features, inputs);
  GetExplainer().Explain(inputs, contributions);
}

void Classifier::ExplainBatch(const float* features, size_t n, float* contributions) const {
  const Explainer& explainer = GetExplainer();
  ForEachInputBlock(model_.input_differences, features, n,
                    [&](const float* inputs, size_t rows, size_t start) {
                      explainer.ExplainBatch(inputs, rows,
                                             contributions +
                                                 start * kNumClasses * kContributionsPerClass);
                    });
}

void Classifier::Classify(const float* features, const ClassifyOptions& options,
                          Classification* out) const {
  *out = Classification();
  out->findings = ValidateExam(features, &model_.training_range);
  if (!IsAcceptable(out->findings)) return;
  out->classified = true;

  float inputs[kNumFeatures];
  ModelInputs(model_.input_differences, features, inputs);
  // One pass over the trees; both softmaxes are the ones Predict and PredictRaw apply.
  evaluator_->Margins(inputs, out->margins.data());
  ProbabilitiesFromMargins(out->margins.data(), evaluator_->temperature(),
                           out->probabilities.data());
  ProbabilitiesFromMargins(out->margins.data(), 1.0, out->raw_probabilities.data());
  out->predicted_class = ArgMax(out->probabilities.data());
  out->prediction_set = PredictionSet(model_.conformal, out->probabilities.data());

  if (options.explain) {
    out->contributions.resize(kNumClasses * kContributionsPerClass);
    GetExplainer().Explain(inputs, out->contributions.data());  // inputs computed above
  }

  out->has_ood_reference = has_ood_reference_;
  out->ood = CheckOod(model_, features);  // lists out-of-range features with or without a reference
  if (!has_ood_reference_) {
    out->ood.distance = NAN;
    out->ood.threshold = NAN;
    out->ood.out_of_distribution = false;
  }
  out->figo = EvaluateFigo(features);
  out->refer_for_review = (out->prediction_set & (out->prediction_set - 1)) != 0 ||
                          out->ood.out_of_distribution || !out->ood.out_of_range.empty();
}

Agreement CompareResults(int client_class,
                         const std::array<double, kNumClasses>& client_probabilities,
                         const Classification& server) {
  Agreement a;
  for (int k = 0; k < kNumClasses; ++k) {
    a.max_abs_difference =
        std::max(a.max_abs_difference,
                 std::fabs(double(server.probabilities[k]) - client_probabilities[k]));
  }
  a.agree = client_class == server.predicted_class && a.max_abs_difference <= kAgreementTolerance;
  return a;
}

}  // namespace fetal
