// Exam validation. Per-feature rules first (finite, hard limits, whole numbers, tendency set),
// then cross-field rules on the histogram, then training-range warnings. A cross-field rule only
// runs when all of its inputs passed their own rules, so one typo yields one finding.
#include "fetal/validator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "fetal/model.h"

namespace fetal {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// SisPorto reports whole bpm; allow rounding of max - min before calling the width wrong.
constexpr double kWidthToleranceBpm = 0.5;

enum Index {
  kHistogramWidth = 11,
  kHistogramMin = 12,
  kHistogramMax = 13,
  kHistogramMode = 16,
  kHistogramMedian = 18,
  kHistogramVariance = 19,
};

// Numbers in messages: whole numbers without decimals, others with up to `digits` significant
// digits. snprintf is locale-dependent only if the program calls setlocale; the library never does.
std::string Num(double v, int digits = 6) {
  char buf[48];
  if (std::isfinite(v) && v == std::round(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

// "prolongued_decelerations" -> "Prolonged decelerations": the human name used in messages.
std::string HumanName(int feature) {
  std::string name(FeatureSchema()[feature].name);
  if (name == "prolongued_decelerations") name = "prolonged_decelerations";
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z')
    name[0] = static_cast<char>(name[0] - 'a' + 'A');
  return name;
}

// The value with its unit, e.g. "165 bpm", "3 events per second", "120 %".
std::string WithUnit(const FeatureSpec& spec, double v, int digits = 6) {
  switch (spec.kind) {
    case FeatureKind::kHeartRate:
    case FeatureKind::kVariability: return Num(v, digits) + " bpm";
    case FeatureKind::kEventRate: return Num(v, digits) + " events per second";
    case FeatureKind::kPercentTime: return Num(v, digits) + " %";
    case FeatureKind::kVariance: return Num(v, digits) + " bpm²";
    case FeatureKind::kCount:
    case FeatureKind::kTendency: return Num(v, digits);
  }
  return Num(v, digits);
}

// The expected form of a feature's value within its hard limits.
std::string ExpectedRange(const FeatureSpec& spec) {
  const std::string lo = Num(spec.hard_min, 3), hi = Num(spec.hard_max, 3);
  switch (spec.kind) {
    case FeatureKind::kHeartRate:
    case FeatureKind::kVariability: return lo + " to " + hi + " bpm";
    case FeatureKind::kEventRate: return lo + " to " + hi + " events per second";
    case FeatureKind::kPercentTime: return lo + " to " + hi + " % of the trace time";
    case FeatureKind::kVariance: return lo + " to " + hi + " bpm²";
    case FeatureKind::kCount: return "a whole number from " + lo + " to " + hi;
    case FeatureKind::kTendency: return "-1, 0 or 1";
  }
  return lo + " to " + hi;
}

// A sentence that helps with the most likely unit mistake for an out-of-range value, or "".
std::string UnitHint(const FeatureSpec& spec, double v) {
  if (spec.kind == FeatureKind::kEventRate && v >= 1 && v == std::round(v)) {
    return " Did you enter a count? This feature is events per second (e.g. " + Num(v) +
           " in a 10-minute trace = " + Num(v / 600.0, 3) + ").";
  }
  if (spec.kind == FeatureKind::kPercentTime && v > 100) {
    return " This feature is a percentage of the trace time, from 0 to 100, not a number of "
           "minutes or seconds.";
  }
  if (spec.kind == FeatureKind::kEventRate && v < 0) {
    return " A rate of events cannot be negative.";
  }
  return "";
}

Finding MakeFinding(int feature, Severity severity, const char* rule, double value,
                    std::string message, std::string expected, double expected_min,
                    double expected_max) {
  Finding f;
  f.feature = feature;
  f.severity = severity;
  f.rule = rule;
  f.value = value;
  f.message = std::move(message);
  f.expected = std::move(expected);
  f.expected_min = expected_min;
  f.expected_max = expected_max;
  return f;
}

// Appends the per-feature findings of one value; returns true if any was an error.
bool CheckFeature(int i, double v, std::vector<Finding>* out) {
  const FeatureSpec& spec = FeatureSchema()[i];
  // Fast path: most values are fine, and building the messages costs far more than checking.
  const bool fine = spec.kind == FeatureKind::kTendency
                        ? (v == -1 || v == 0 || v == 1)
                        : (std::isfinite(v) && v >= spec.hard_min && v <= spec.hard_max &&
                           (!spec.integer || v == std::round(v)));
  if (fine) return false;
  const std::string name = HumanName(i);
  const std::string expected = ExpectedRange(spec);
  const size_t before = out->size();

  if (!std::isfinite(v)) {
    out->push_back(MakeFinding(i, Severity::kError, "not_finite", v,
                               name + " is " +
                                   (std::isnan(v) ? "missing or not a number" : "infinite") +
                                   ". Expected a finite number, " + expected + ".",
                               expected, spec.hard_min, spec.hard_max));
    return true;
  }
  if (spec.kind == FeatureKind::kTendency) {
    if (v != -1 && v != 0 && v != 1) {
      out->push_back(
          MakeFinding(i, Severity::kError, "tendency_set", v,
                      name + " " + Num(v) +
                          " is not one of the allowed values. Expected -1 (left-skewed), "
                          "0 (symmetric) or 1 (right-skewed).",
                      expected, -1, 1));
    }
    return out->size() > before;
  }
  if (v < spec.hard_min) {
    out->push_back(MakeFinding(i, Severity::kError, "below_min", v,
                               name + " " + WithUnit(spec, v) + " is below the minimum of " +
                                   WithUnit(spec, spec.hard_min, 3) + ". Expected " + expected +
                                   "." + UnitHint(spec, v),
                               expected, spec.hard_min, spec.hard_max));
  }
  if (v > spec.hard_max) {
    out->push_back(MakeFinding(i, Severity::kError, "above_max", v,
                               name + " " + WithUnit(spec, v) + " is above the maximum of " +
                                   WithUnit(spec, spec.hard_max, 3) + ". Expected " + expected +
                                   "." + UnitHint(spec, v),
                               expected, spec.hard_min, spec.hard_max));
  }
  if (spec.integer && v != std::round(v)) {
    out->push_back(MakeFinding(i, Severity::kError, "not_integer", v,
                               name + " " + Num(v) + " is not a whole number. Expected " +
                                   expected + " (it counts things).",
                               expected, spec.hard_min, spec.hard_max));
  }
  return out->size() > before;
}

}  // namespace

std::vector<Finding> ValidateExam(const float* features, const TrainingRange* training) {
  std::vector<Finding> findings;
  bool bad[kNumFeatures];
  for (int i = 0; i < kNumFeatures; ++i) bad[i] = CheckFeature(i, features[i], &findings);

  auto ok = [&](std::initializer_list<int> inputs) {
    for (int i : inputs) {
      if (bad[i]) return false;
    }
    return true;
  };
  const double width = features[kHistogramWidth], lo = features[kHistogramMin],
               hi = features[kHistogramMax];

  bool range_ok = false;
  if (ok({kHistogramMin, kHistogramMax})) {
    if (lo > hi) {
      findings.push_back(
          MakeFinding(kHistogramMin, Severity::kError, "min_at_most_max", lo,
                      "Histogram min " + Num(lo) + " bpm is above histogram max " + Num(hi) +
                          " bpm. Expected the lowest heart rate of the histogram, at most " +
                          Num(hi) + " bpm.",
                      "at most " + Num(hi) + " bpm", kNaN, hi));
    } else {
      range_ok = true;
    }
  }
  // The rules below compare against [min, max]; with min > max that interval is meaningless and
  // the finding above already names the cause.
  if (range_ok && ok({kHistogramWidth})) {
    const double span = hi - lo;
    if (std::fabs(width - span) > kWidthToleranceBpm) {
      findings.push_back(
          MakeFinding(kHistogramWidth, Severity::kError, "width_is_max_minus_min", width,
                      "Histogram width " + Num(width) + " bpm does not match histogram max " +
                          Num(hi) + " bpm minus histogram min " + Num(lo) + " bpm. Expected " +
                          Num(span) + " bpm (within " + Num(kWidthToleranceBpm) + " bpm).",
                      Num(span) + " bpm", span - kWidthToleranceBpm, span + kWidthToleranceBpm));
    }
  }
  struct Within {
    int feature;
    const char* rule;
  };
  for (const Within& w : {Within{kHistogramMode, "mode_within_min_max"},
                          Within{kHistogramMedian, "median_within_min_max"}}) {
    if (!range_ok || !ok({w.feature})) continue;
    const double v = features[w.feature];
    if (v < lo || v > hi) {
      findings.push_back(MakeFinding(w.feature, Severity::kError, w.rule, v,
                                     HumanName(w.feature) + " " + Num(v) +
                                         " bpm is outside the histogram's range. Expected " +
                                         "a value between histogram min " + Num(lo) +
                                         " bpm and histogram max " + Num(hi) + " bpm.",
                                     Num(lo) + " to " + Num(hi) + " bpm", lo, hi));
    }
  }
  if (ok({kHistogramVariance, kHistogramWidth})) {
    // Popoviciu: a distribution spread over `width` has variance at most (width / 2)^2.
    const double variance = features[kHistogramVariance];
    const double limit = (width / 2) * (width / 2);
    if (variance > limit) {
      findings.push_back(
          MakeFinding(kHistogramVariance, Severity::kError, "variance_within_width", variance,
                      "Histogram variance " + Num(variance) + " bpm² is larger than a histogram " +
                          Num(width) + " bpm wide allows. Expected at most (width / 2)² = " +
                          Num(limit) + " bpm².",
                      "0 to " + Num(limit) + " bpm²", 0, limit));
    }
  }

  if (training != nullptr) {
    for (int i = 0; i < kNumFeatures; ++i) {
      if (bad[i]) continue;  // the error already says more than a warning could
      const double v = features[i], tmin = training->min[i], tmax = training->max[i];
      if (v < tmin || v > tmax) {
        const FeatureSpec& spec = FeatureSchema()[i];
        findings.push_back(MakeFinding(i, Severity::kWarning, "outside_training_range", v,
                                       HumanName(i) + " " + WithUnit(spec, v) + " is " +
                                           (v < tmin ? "below" : "above") +
                                           " every exam the model was trained on (" + Num(tmin) +
                                           " to " + WithUnit(spec, tmax) +
                                           "). The result is less reliable; check the value.",
                                       Num(tmin) + " to " + WithUnit(spec, tmax), tmin, tmax));
      }
    }
  }

  // Feature order, errors before warnings; within that, the order the rules ran.
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.feature != b.feature) return a.feature < b.feature;
    return a.severity == Severity::kError && b.severity == Severity::kWarning;
  });
  return findings;
}

bool IsAcceptable(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.severity == Severity::kError) return false;
  }
  return true;
}

}  // namespace fetal
