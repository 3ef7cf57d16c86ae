#include "simulation.h"

#include <cstdio>
#include <random>

#include "fetal/schema.h"
#include "fetal/validator.h"
#include "text/time_text.h"

namespace fetal {
namespace drift {
namespace {

constexpr int kBaseline = 0;  // baseline_value's schema index
constexpr int kPathologicalClass = 2;
// kPathological: this share of exams is drawn from the Pathological rows instead, taking their
// share from about 8 % (the dataset's) to about 22 %.
constexpr double kExtraPathological = 0.15;

}  // namespace

bool ParseChange(const std::string& text, Change* change, int* stuck_feature) {
  if (text == "none") *change = Change::kNone;
  else if (text == "baseline+10") *change = Change::kBaselineShift;
  else if (text == "pathological") *change = Change::kPathological;
  else if (text.rfind("stuck:", 0) == 0) {
    const int i = FeatureIndex(text.substr(6));
    if (i < 0) return false;
    *change = Change::kStuckFeature;
    *stuck_feature = i;
  } else {
    return false;
  }
  return true;
}

std::vector<PlannedExam> Plan(const SimulationOptions& o, const ExamTable& data,
                              const Classifier& classifier) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> any_row(0, data.rows - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<size_t> pathological;
  for (size_t r = 0; r < data.rows; ++r) {
    if (data.labels[r] == kPathologicalClass) pathological.push_back(r);
  }
  const size_t changed_submitter = [&] {
    for (size_t s = 0; s < o.submitters.size(); ++s) {
      if (o.submitters[s] == o.changed_submitter) return s;
    }
    return size_t{0};
  }();
  std::vector<PlannedExam> plan;
  plan.reserve(static_cast<size_t>(o.days) * o.exams_per_day);
  for (int day = 0; day < o.days; ++day) {
    const bool changed = o.change != Change::kNone && day >= o.change_day;
    for (int k = 0; k < o.exams_per_day; ++k) {
      PlannedExam e;
      e.day = day;
      e.submitter = static_cast<size_t>(k) % o.submitters.size();
      e.row = any_row(rng);
      if (changed && o.change == Change::kPathological && !pathological.empty() &&
          unit(rng) < kExtraPathological) {
        e.row = pathological[std::uniform_int_distribution<size_t>(0, pathological.size() - 1)(rng)];
      }
      e.label = data.labels[e.row];
      for (int i = 0; i < kNumFeatures; ++i) e.features[i] = data.features[e.row * kNumFeatures + i];
      if (changed && o.change == Change::kBaselineShift && e.submitter == changed_submitter) {
        e.features[kBaseline] += 10;
      }
      if (changed && o.change == Change::kStuckFeature) e.features[o.stuck_feature] = 0;
      float f[kNumFeatures];
      for (int i = 0; i < kNumFeatures; ++i) f[i] = static_cast<float>(e.features[i]);
      ClassifyOptions options;
      options.explain = false;
      Classification c;
      classifier.Classify(f, options, &c);
      e.valid = c.classified;
      if (c.classified) {
        e.client_class = c.predicted_class;
        for (int j = 0; j < kNumClasses; ++j) e.client_probabilities[j] = c.probabilities[j];
      }
      e.runtime_build = o.runtime_build;
      if (o.nudged_share > 0 && unit(rng) < o.nudged_share) {
        e.runtime_build = o.nudged_build;
        if (c.classified && e.client_probabilities[1] >= 0.3) e.client_class = 1;
      }
      const int64_t second = static_cast<int64_t>(unit(rng) * 86400);
      e.client_time = text::FormatTime(((o.first_day + day) * 86400 + second) * 1000);
      e.gets_outcome = unit(rng) < o.outcome_share;
      e.outcome_day = day + o.outcome_delay_days;
      plan.push_back(std::move(e));
    }
  }
  return plan;
}

}  // namespace drift
}  // namespace fetal
