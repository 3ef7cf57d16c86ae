// FIGO rule layer: a deterministic cross-check beside the model, never an override.
//
// Maps the 2015 FIGO intrapartum CTG criteria onto the features this data set has (baseline,
// variability proxies, decelerations); see docs/figo-rules.md for the mapping and its limits.
#pragma once

#include <string>
#include <vector>

#include "fetal/schema.h"

namespace fetal {

// The rule set's version, recorded in bundles and shown beside every result.
extern const char* const kFigoRuleSetVersion;

enum class FigoClass { kNormal = 0, kSuspicious = 1, kPathological = 2 };

struct FigoFlag {
  std::string id;       // stable id, e.g. "baseline_tachycardia"
  FigoClass level;      // the class this flag alone implies
  int feature;          // the feature it read (index into FeatureSchema())
  double value;         // the value it read (in the feature's unit, or derived, e.g. count/10 min)
  double limit;         // the threshold it compared against
  std::string message;  // "Baseline 165 bpm is above 160 bpm (tachycardia)"
};

struct FigoResult {
  FigoClass figo_class = FigoClass::kNormal;  // worst level among the flags
  std::vector<FigoFlag> flags;                // every rule that fired, in rule order
};

// Precondition: features passed validation (finite, within hard limits).
FigoResult EvaluateFigo(const float* features);

// Model class index (0,1,2) to the comparable FIGO class; Suspect <-> Suspicious.
inline int FigoClassIndex(FigoClass c) { return static_cast<int>(c); }

// "Normal", "Suspicious" or "Pathological": FIGO's own words, as every result shows them
// (the web app, `fetal-model predict`). Static strings.
const char* FigoClassName(FigoClass c);

}  // namespace fetal
