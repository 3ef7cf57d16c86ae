// The drift simulator's plan: which dataset rows become which simulated day's exams, how each
// is altered by the injected change, and what the browser reports for it. Pure: no network.
//
// Thread-safety: pure functions of their arguments (the random stream is seeded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fetal/classifier.h"
#include "fetal/csv.h"

namespace fetal {
namespace drift {

enum class Change {
  kNone,
  kBaselineShift,  // one submitter's monitor reads baseline_value + 10 bpm
  kPathological,   // three times as many Pathological exams
  kStuckFeature,   // a feature reads 0
};

struct SimulationOptions {
  int days = 30;
  int64_t first_day = 0;  // days since 1970-01-01 of simulated day 0
  int exams_per_day = 200;
  uint64_t seed = 1;
  std::vector<std::string> submitters = {"sim-a"};  // token names; exams go round-robin
  Change change = Change::kNone;
  int change_day = 0;               // first simulated day with the change
  std::string changed_submitter;    // kBaselineShift: whose monitor (default: the first)
  int stuck_feature = -1;           // kStuckFeature: schema index
  double outcome_share = 0.5;       // exams that get an outcome
  int outcome_delay_days = 3;       // days after the exam its outcome is recorded
  // Exams from this share of browsers run `nudged_build`, whose Suspect threshold moved: they
  // show Suspect when p_suspect >= 0.3 (the others run `runtime_build`).
  double nudged_share = 0;
  std::string runtime_build = "wasm-sim";
  std::string nudged_build = "wasm-sim-nudged";
};

struct PlannedExam {
  int day = 0;  // simulated day
  size_t submitter = 0;
  size_t row = 0;  // dataset row
  std::array<double, kNumFeatures> features{};
  int label = 0;  // dataset class: the final reading its outcome records
  int client_class = 0;
  std::array<double, kNumClasses> client_probabilities{};
  std::string runtime_build;
  std::string client_time;  // within its day, UTC
  bool gets_outcome = false;
  int outcome_day = 0;
  bool valid = true;  // the validator accepts the altered features
};

// Every exam of the simulation in day order. `classifier` computes the browser's result.
std::vector<PlannedExam> Plan(const SimulationOptions& options, const ExamTable& data,
                              const Classifier& classifier);

// "none" | "baseline+10" | "pathological" | "stuck:<feature key>"; false when unknown.
bool ParseChange(const std::string& text, Change* change, int* stuck_feature);

}  // namespace drift
}  // namespace fetal
