// Exam validation: hard limits, cross-field rules and training-range warnings.
//
// Every finding names the feature, the value, the rule that fired and what was expected, so a
// clinician can correct the entry without reading documentation.
#pragma once

#include <string>
#include <vector>

#include "fetal/schema.h"

namespace fetal {

struct TrainingRange;  // model.h

enum class Severity {
  kError,    // the exam must not be classified until this is fixed
  kWarning,  // classified, but the user is told (e.g. outside the training range)
};

struct Finding {
  int feature = -1;  // index into FeatureSchema()
  Severity severity = Severity::kError;
  std::string rule;      // stable machine id: "not_finite", "below_min", "above_max",
                         // "not_integer", "tendency_set", "width_is_max_minus_min",
                         // "mode_within_min_max", "median_within_min_max",
                         // "variance_within_width", "outside_training_range", ...
  double value = 0;      // the offending value
  std::string message;   // full sentence: feature, value, what was wrong, what is expected,
                         // and a unit hint where one helps ("did you enter a count? ...")
  std::string expected;  // the expected form, e.g. "0 to 0.0667 events per second"
  // The numeric bounds behind `expected` (NaN where one side is open), so a UI can render the
  // finding in another language from `rule`, `value` and these without parsing `message`.
  double expected_min = 0;
  double expected_max = 0;
};

// Validates one exam of kNumFeatures values in schema order.
// `training` may be null (no training-range warnings). Findings come back in feature order,
// errors before warnings for the same feature. Never fails; an empty vector means valid.
std::vector<Finding> ValidateExam(const float* features, const TrainingRange* training);

// True if no finding has Severity::kError.
bool IsAcceptable(const std::vector<Finding>& findings);

}  // namespace fetal
