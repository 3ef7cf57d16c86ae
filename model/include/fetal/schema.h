// The feature schema: the 21 CTG features in dataset (and model) order.
//
// This is the one place that says what each input means, in which unit, and which values are
// physically possible. Everything else (validator, bundle, web form, server, trainer) reads it.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace fetal {

inline constexpr int kNumFeatures = 21;
inline constexpr int kNumClasses = 3;  // 0 Normal, 1 Suspect, 2 Pathological

// Dataset labels are 1, 2, 3 (fetal_health column); the library uses 0, 1, 2.
inline constexpr std::array<std::string_view, kNumClasses> kClassNames = {"Normal", "Suspect",
                                                                          "Pathological"};

// How a value is measured. Drives unit hints in validation messages and the OOD transform.
enum class FeatureKind {
  kHeartRate,    // beats per minute
  kEventRate,    // events per second (SisPorto reports counts divided by trace length)
  kPercentTime,  // percent of the trace, 0..100
  kVariability,  // beats per minute (short- or long-term variability)
  kCount,        // a whole number (histogram peaks / zeroes)
  kVariance,     // bpm squared
  kTendency,     // -1, 0 or 1
};

struct FeatureSpec {
  std::string_view name;         // dataset column name, e.g. "baseline value"
  std::string_view key;          // identifier used in JSON and code, e.g. "baseline_value"
  std::string_view label;        // short English name for people, e.g. "Baseline FHR"
  std::string_view unit;         // "bpm", "1/s", "%", "count", "bpm²", ""
  std::string_view group;        // clinical group, in form order: "baseline", "events",
                                 // "decelerations", "variability", "histogram"
  std::string_view description;  // one sentence of clinical meaning (the form's help text)
  FeatureKind kind;
  double hard_min;  // values outside [hard_min, hard_max] are rejected
  double hard_max;
  bool integer;        // must be a whole number
  bool log1p_for_ood;  // OOD standardizes log1p(x) instead of x (rates and counts)
};

// The schema, in dataset order. Static storage; valid for the life of the program.
const std::array<FeatureSpec, kNumFeatures>& FeatureSchema();

// Index of a feature by dataset column name or key; -1 if unknown.
int FeatureIndex(std::string_view name_or_key);

// Version of the schema. A bundle built for another schema version is refused.
inline constexpr int kSchemaVersion = 1;

}  // namespace fetal
