// Hyperparameter search by inner cross-validation on training folds only (`fetal-model tune`).
//
// Procedure (docs/training.md): for every candidate, for every outer split of one repeat of the
// published folds, the outer TRAINING part (de-duplicated, test duplicates removed) is split into
// stratified inner folds; a booster with `max_rounds` rounds is trained per inner fold and its
// held-out margins recorded at every `round_step` rounds, giving out-of-fold predictions of the
// whole outer training part for each round count. The outer test rows are never read.
// Per candidate, rounds = argmin of the mean (over outer splits) inner log loss ("early stopping
// on inner folds"), raw or after fitting a temperature to the inner out-of-fold margins as the
// shipped model does; the candidate is then chosen by SelectBest().
//
// Two stages (docs/training.md): stage 1 a coarse grid (raw log loss, up to 600 rounds); stage 2
// a refinement around stage 1's winners within the tree budget (at most 300 rounds = 900 trees),
// rounds chosen on the temperature-scaled log loss.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"

namespace fetal {
namespace trainer {

struct TuneOptions {
  int repeat = 0;  // which repeat of the published folds gives the outer splits
  int inner_folds = 5;
  int min_rounds = 50;
  int max_rounds = 600;
  int round_step = 25;
  // Among candidates whose inner log loss is within this of the best, the highest macro-F1 wins.
  double log_loss_tolerance = 0.01;
  // Choose rounds (and compare candidates) on the log loss after temperature scaling.
  bool calibrated = false;
  // Early stopping only considers round counts whose bundle, trained on all de-duplicated rows,
  // is at most this size (0 = no limit); a candidate that does not fit even at min_rounds is not
  // eligible. For the 150 KB gzipped budget use 210,000: bundles compress to about 0.70 of
  // their size, so that is about 144 KB gzipped.
  size_t max_bundle_bytes = 0;

  static TuneOptions ForStage(int stage);
};

struct TuneOutcome {
  TrainParams params;       // rounds = the early-stopped round count
  double log_loss = 0;      // mean over outer splits of the inner out-of-fold log loss
                            // (temperature-scaled if TuneOptions::calibrated)
  double raw_log_loss = 0;  // the same without temperature
  double temperature = 1;   // mean inner temperature at the chosen rounds
  size_t bundle_bytes = 0;  // bundle size at `rounds` when trained on all rows
  double macro_f1 = 0;
  double accuracy = 0;
  double suspect_recall = 0;
  double pathological_recall = 0;
  double seconds = 0;
};

// The grid of a stage (1 or 2) of `fetal-model tune` (every combination).
std::vector<TrainParams> TuneGrid(int stage);

Status Tune(const Dataset& data, const std::vector<CvSplit>& splits,
            const std::vector<TrainParams>& candidates, const TuneOptions& options,
            std::vector<TuneOutcome>* outcomes,
            const std::function<void(const TuneOutcome&)>& on_candidate = {});

// Index of the chosen outcome (see TuneOptions::log_loss_tolerance and max_bundle_bytes), or
// outcomes.size() if none is eligible.
size_t SelectBest(const std::vector<TuneOutcome>& outcomes, const TuneOptions& options);

}  // namespace trainer
}  // namespace fetal
