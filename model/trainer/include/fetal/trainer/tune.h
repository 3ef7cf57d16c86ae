// Hyperparameter search by inner cross-validation on training folds only (`fetal-model tune`).
//
// Procedure (docs/training.md): for every candidate, for every outer split of one repeat of the
// published folds, the outer TRAINING part (de-duplicated, test duplicates removed) is split into
// stratified inner folds; a booster with `max_rounds` rounds is trained per inner fold and its
// held-out margins recorded at every `round_step` rounds, giving out-of-fold predictions of the
// whole outer training part for each round count. The outer test rows are never read.
// Per candidate, rounds = argmin of the mean (over outer splits) inner log loss ("early stopping
// on inner folds"); the candidate is then chosen by SelectBest().
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"

namespace fetal {
namespace trainer {

struct TuneOptions {
  int repeat = 0;          // which repeat of the published folds gives the outer splits
  int inner_folds = 5;
  int min_rounds = 50;
  int max_rounds = 600;
  int round_step = 25;
  // Among candidates whose inner log loss is within this of the best, the highest macro-F1 wins.
  double log_loss_tolerance = 0.01;
};

struct TuneOutcome {
  TrainParams params;          // rounds = the early-stopped round count
  double log_loss = 0;         // mean over outer splits of the inner out-of-fold log loss
  double macro_f1 = 0;
  double accuracy = 0;
  double suspect_recall = 0;
  double pathological_recall = 0;
  double seconds = 0;
};

// The grid `fetal-model tune` searches (every combination).
std::vector<TrainParams> DefaultTuneGrid();

Status Tune(const Dataset& data, const std::vector<CvSplit>& splits,
            const std::vector<TrainParams>& candidates, const TuneOptions& options,
            std::vector<TuneOutcome>* outcomes,
            const std::function<void(const TuneOutcome&)>& on_candidate = {});

// Index of the chosen outcome (see TuneOptions::log_loss_tolerance). outcomes must not be empty.
size_t SelectBest(const std::vector<TuneOutcome>& outcomes, const TuneOptions& options);

}  // namespace trainer
}  // namespace fetal
