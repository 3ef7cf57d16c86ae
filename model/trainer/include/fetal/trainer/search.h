// The recipe search: everything about a model that is chosen — inputs, class weights, tree
// shape, number of rounds, calibrator — is chosen by inner cross-validation on the rows it is
// given, and only those (docs/training.md). `fetal-model train` runs it on every training row;
// `fetal-model cv` runs it again inside each outer split's training part (nested), so the outer
// test rows never take part in any choice.
//
// Procedure on a row set R (stratified K-fold inner folds of R, K = params.inner_folds, seed
// params.seed):
//   stage 1  every (inputs x class weights) of the space on the base parameters;
//   stage 2  each refinement of the space applied to the stage-1 winner's parameters.
// Each candidate booster is trained once per inner fold to the largest round count; its held-out
// margins at every round count of the grid give out-of-fold margins of all of R. For each
// calibrator, the out-of-fold margins are calibrated cross-fitted (calibration.h) and scored;
// the round count with the lowest log loss is that (booster, calibrator) entry's. Rule, fixed
// before any run: among the entries within `log_loss_tolerance` of the lowest inner log loss,
// the highest inner macro-F1 wins (ties: the earlier entry).
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"
#include "fetal/trainer/booster.h"
#include "fetal/trainer/calibration.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"

namespace fetal {
namespace trainer {

// A change to the stage-1 winner's booster parameters tried in stage 2 (0 / negative = keep).
struct Refinement {
  int max_depth = 0;
  double min_child_weight = -1;
  double colsample_bytree = -1;
};

struct SearchSpace {
  std::string name;
  std::vector<std::vector<InputDifference>> inputs;            // stage 1
  std::vector<std::array<double, kNumClasses>> class_weights;  // stage 1
  std::vector<Refinement> refinements;                         // stage 2
  std::vector<Calibrator> calibrators;
  std::vector<int> round_counts;  // ascending; the early-stopping grid
  double log_loss_tolerance = 0.005;

  // "default": the shipped procedure. "tiny": the same code on a toy grid, for tests.
  // "fixed": no choice at all — the given parameters, their rounds and calibrator.
  static bool Named(const std::string& name, const TrainParams& base, SearchSpace* out);
  // One line per dimension, for the model card and `cv` output.
  std::string Describe() const;
};

// One (booster, calibrator) entry of a search, scored on the inner out-of-fold predictions at its
// early-stopped round count.
struct SearchEntry {
  int stage = 1;
  TrainParams params;  // rounds = the early-stopped count, calibrator set
  ClassificationMetrics inner;
};

struct SearchOutcome {
  std::vector<SearchEntry> entries;
  size_t chosen = 0;
  std::vector<int> inner_fold;  // inner fold of each row of R
  // The chosen booster's out-of-fold margins (|R| * kNumClasses) at each of round_counts.
  std::vector<int> round_counts;
  std::vector<std::vector<float>> oof_margins;
  double seconds = 0;

  const TrainParams& params() const { return entries[chosen].params; }
  // Out-of-fold margins at `rounds` (one of round_counts).
  const std::vector<float>& MarginsAt(int rounds) const;
};

// One short line naming a recipe, e.g.
// "histogram_mean-baseline_value w1,3,3 d5 mcw2 col0.8 r275 temperature" (inputs, class weights,
// depth, min_child_weight, colsample_bytree, rounds, calibrator).
std::string RecipeLabel(const TrainParams& params);

// Runs the search on `rows` of `table` (labels required). `base` supplies every parameter the
// space does not vary.
Status Search(const ExamTable& table, const std::vector<size_t>& rows, const SearchSpace& space,
              const TrainParams& base, SearchOutcome* out);

}  // namespace trainer
}  // namespace fetal
