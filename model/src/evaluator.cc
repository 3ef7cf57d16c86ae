// Evaluator: builds the layout (evaluator_layout.{h,cc}) and sends each call to the kernel the
// layout and the CPU allow:
// - AVX-512 (kernels_avx512.cc): native x86-64 with AVX-512F/CD/BW and BMI2, trees at most 8
//   deep (vector tables up to 6, deep tables for 7 and 8);
// - WebAssembly SIMD128 level tables (kernels_wasm_simd.cc): the wasm build, models up to 8 deep
//   with tree k adding to class k % 3 and at most 255 thresholds a feature (every XGBoost
//   multiclass model at its common settings); batches of models 5 deep take its QuickScorer
//   kernel, deeper models the level walk two exams at a time;
// - otherwise the portable kernels (kernels_portable.cc); in the wasm build only their node
//   walk, exam by exam.
// All of them give the same margins bit for bit; probabilities are softmax of those here.
#include "fetal/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "evaluator_layout.h"

namespace fetal {

using internal::EvaluatorLayout;
using internal::kBlockRows;
using internal::kSlots;

namespace {

void Softmax(const float* margins, double inverse_temperature, float* probabilities) {
  double z[kNumClasses];
  double top = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = double(margins[c]) * inverse_temperature;
    top = std::max(top, z[c]);
  }
  double sum = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = std::exp(z[c] - top);
    sum += z[c];
  }
  for (int c = 0; c < kNumClasses; ++c) probabilities[c] = float(z[c] / sum);
}

// Margins of one block of rows (at most kBlockRows) with the kernel the layout has; `slots`
// is scratch for kBlockRows expanded rows.
void KernelBlockMargins(const EvaluatorLayout& layout, const float* features, size_t rows,
                        float* slots, float* margins) {
#ifdef FETAL_HAVE_AVX512
  if (layout.use_avx512)
    return internal::Avx512BlockMargins(layout, features, rows, slots, margins);
  if (layout.use_avx512_deep)
    return internal::Avx512DeepBlockMargins(layout, features, rows, slots, margins);
#endif
#ifdef __wasm_simd128__
  if (layout.use_wasm_levels) {
    if (layout.level_max_depth <= internal::kLevelDepth) {
      return internal::WasmRankBlockMargins(layout, features, rows, margins);
    }
    return internal::WasmLevelBlockMargins(layout, features, rows, margins);
  }
  // Models the level tables do not take walk their nodes exam by exam: the same sums as the
  // block walk, without its code in the module.
  for (size_t r = 0; r < rows; ++r) {
    internal::ExpandRow(features + r * kNumFeatures, slots);
    layout.Margins(slots, margins + r * kNumClasses);
  }
#else
  for (size_t r = 0; r < rows; ++r) {
    internal::ExpandRow(features + r * kNumFeatures, slots + r * kSlots);
  }
  layout.BlockMargins(slots, rows, margins);
#endif
}

void BatchProbabilities(const EvaluatorLayout& layout, const float* features, size_t n,
                        double inverse_temperature, float* probabilities) {
  float slots[kBlockRows * kSlots];
  float margins[kBlockRows * kNumClasses];
  for (size_t start = 0; start < n; start += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - start);
    KernelBlockMargins(layout, features + start * kNumFeatures, rows, slots, margins);
    for (size_t r = 0; r < rows; ++r) {
      Softmax(margins + r * kNumClasses, inverse_temperature,
              probabilities + (start + r) * kNumClasses);
    }
  }
}

}  // namespace

Evaluator::~Evaluator() = default;

Status Evaluator::Create(const Model& model, std::unique_ptr<Evaluator>* out) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  return CreateChecked(model, out);
}

Status Evaluator::CreateChecked(const Model& model, std::unique_ptr<Evaluator>* out) {
  std::unique_ptr<Evaluator> evaluator(new Evaluator());
  evaluator->layout_.reset(new EvaluatorLayout());
  EvaluatorLayout& layout = *evaluator->layout_;
  for (int c = 0; c < kNumClasses; ++c) layout.base_score[c] = model.base_score[c];
  evaluator->temperature_ = model.temperature;
#ifdef __wasm_simd128__
  // WebAssembly with SIMD128: one exam and batches take the level tables when the model allows
  // them (built straight from the trees, every XGBoost model at most 8 deep); other models walk
  // their nodes (the complete-tree and packed layouts below are native only: code size).
  if (layout.BuildWasmLevelTables(model)) {
    evaluator->max_depth_ = layout.level_max_depth;
    *out = std::move(evaluator);
    return Status::Ok();
  }
  for (const Tree& tree : model.trees) {
    evaluator->max_depth_ = std::max(evaluator->max_depth_, TreeDepth(tree));
    layout.AddWalkedTree(tree);
  }
  *out = std::move(evaluator);
  return Status::Ok();
#endif
  layout.trees.reserve(model.trees.size());
  for (const Tree& tree : model.trees) {
    const int depth = TreeDepth(tree);
    evaluator->max_depth_ = std::max(evaluator->max_depth_, depth);
    if (depth <= internal::kMaxCompleteDepth) {
      layout.AddCompleteTree(tree, depth);
    } else {
      layout.AddWalkedTree(tree);
    }
  }
#ifdef FETAL_HAVE_AVX512
  if (internal::UseAvx512Kernels()) {
    layout.BuildSimdTables();
    if (layout.have_tables) layout.BuildRankTables();
    layout.use_avx512 = layout.have_tables;
    // Past the vector tables' depth, models up to kMaxDeepDepth take the deep tables.
    if (!layout.use_avx512) layout.use_avx512_deep = layout.BuildDeepTables(model);
  }
#endif
  if (!layout.use_avx512 && !layout.use_avx512_deep) layout.BuildPacked();
  *out = std::move(evaluator);
  return Status::Ok();
}

void Evaluator::Margins(const float* features, float* margins) const {
#ifdef FETAL_HAVE_AVX512
  if (layout_->use_avx512) return internal::Avx512Margins(*layout_, features, margins);
  if (layout_->use_avx512_deep) return internal::Avx512DeepMargins(*layout_, features, margins);
#endif
#ifdef __wasm_simd128__
  if (layout_->use_wasm_levels) return internal::WasmLevelMargins(*layout_, features, margins);
#endif
  float slots[kSlots];
  internal::ExpandRow(features, slots);
  layout_->Margins(slots, margins);
}

void ProbabilitiesFromMargins(const float* margins, double temperature, float* probabilities) {
  Softmax(margins, 1.0 / temperature, probabilities);
}

void Evaluator::Predict(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictRaw(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0, probabilities);
}

void Evaluator::PredictBatch(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictBatchRaw(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0, probabilities);
}

int ArgMax(const float* probabilities) {
  int best = 0;
  for (int c = 1; c < kNumClasses; ++c) {
    if (probabilities[c] > probabilities[best]) best = c;
  }
  return best;
}

}  // namespace fetal
