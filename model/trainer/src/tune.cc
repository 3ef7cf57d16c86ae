#include "fetal/trainer/tune.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "fetal/bundle.h"
#include "fetal/ood.h"

namespace fetal {
namespace trainer {

TuneOptions TuneOptions::ForStage(int stage) {
  TuneOptions options;
  if (stage >= 2) {
    options.max_rounds = 300;  // 900 trees: the evaluator's speed and bundle size budget
    options.calibrated = true;
  }
  if (stage >= 3) options.max_bundle_bytes = 210000;  // ~150 KB gzipped
  return options;
}

std::vector<TrainParams> TuneGrid(int stage) {
  std::vector<TrainParams> grid;
  if (stage >= 3) {
    // Depth-5 trees under the bundle budget: pruning (gamma, min_child_weight) shrinks trees so
    // more rounds fit; a larger eta needs fewer rounds.
    for (double eta : {0.05, 0.075})
      for (double gamma : {0.0, 0.5})
        for (double mcw : {1.0, 2.0}) {
          TrainParams p;
          p.max_depth = 5;
          p.eta = eta;
          p.gamma = gamma;
          p.min_child_weight = mcw;
          p.subsample = 0.8;
          p.colsample_bytree = 0.8;
          p.class_weight = {1, 3, 3};
          grid.push_back(p);
        }
    return grid;
  }
  if (stage >= 2) {
    // Stage 1 winners: row/column sampling 0.8 and Suspect/Pathological weight 2 beat the rest
    // at every depth and eta; min_child_weight 3 never helped. Refine around them.
    const std::array<double, kNumClasses> weightings[] = {{1, 2, 2}, {1, 3, 3}};
    for (int depth : {4, 5})
      for (double eta : {0.05, 0.1})
        for (double colsample : {0.5, 0.8})
          for (const auto& weights : weightings) {
            TrainParams p;
            p.max_depth = depth;
            p.eta = eta;
            p.subsample = 0.8;
            p.colsample_bytree = colsample;
            p.class_weight = weights;
            grid.push_back(p);
          }
    return grid;
  }
  const std::array<double, kNumClasses> weightings[] = {{1, 1, 1}, {1, 2, 2}};
  const std::pair<double, double> samplings[] = {{1, 1}, {0.8, 0.8}};
  for (int depth : {3, 4, 5, 6})
    for (double eta : {0.05, 0.1})
      for (double mcw : {1.0, 3.0})
        for (const auto& [subsample, colsample] : samplings)
          for (const auto& weights : weightings) {
            TrainParams p;
            p.max_depth = depth;
            p.eta = eta;
            p.min_child_weight = mcw;
            p.subsample = subsample;
            p.colsample_bytree = colsample;
            p.class_weight = weights;
            grid.push_back(p);
          }
  return grid;
}

namespace {

// Bundle size a candidate would ship after each round count: trained on every de-duplicated row
// for max_rounds; the model after r rounds is its first r * kNumClasses trees (boosting is
// sequential and the sampler's stream the same), written with WriteBundle for the exact size.
Status MeasureBundleBytes(const ExamTable& table, const TrainParams& params,
                          const std::vector<int>& round_counts, std::vector<size_t>* bytes) {
  std::vector<size_t> rows = DeduplicateRows(table, AllRows(table));
  std::unique_ptr<Booster> booster;
  Status s = Booster::Train(table, rows, params, &booster);
  if (!s.ok()) return s;
  std::string json;
  if (!(s = booster->SaveJson(&json)).ok()) return s;
  Model model;
  if (!(s = ImportXgboostJson(json, &model)).ok()) return s;
  std::vector<float> features = GatherFeatures(table, rows);
  if (!(s = FitOodReference(features.data(), rows.size(), params.ood_quantile, &model)).ok())
    return s;
  model.params_json = params.ToJson();
  const std::vector<Tree> all_trees = model.trees;
  bytes->clear();
  for (int rounds : round_counts) {
    size_t keep = std::min(all_trees.size(), static_cast<size_t>(rounds) * kNumClasses);
    model.trees.assign(all_trees.begin(), all_trees.begin() + keep);
    bytes->push_back(WriteBundle(model).size());
  }
  return Status::Ok();
}

}  // namespace

Status Tune(const Dataset& data, const std::vector<CvSplit>& splits,
            const std::vector<TrainParams>& candidates, const TuneOptions& options,
            std::vector<TuneOutcome>* outcomes,
            const std::function<void(const TuneOutcome&)>& on_candidate) {
  const ExamTable& table = data.table;
  std::vector<const CvSplit*> outer;
  for (const CvSplit& split : splits)
    if (split.repeat == options.repeat) outer.push_back(&split);
  if (outer.empty()) {
    return Status::InvalidArgument("the folds file has no repeat" + std::to_string(options.repeat));
  }
  if (options.min_rounds < 1 || options.round_step < 1 || options.max_rounds < options.min_rounds)
    return Status::InvalidArgument("bad round range");
  std::vector<int> round_counts;
  for (int r = options.min_rounds; r <= options.max_rounds; r += options.round_step)
    round_counts.push_back(r);

  outcomes->clear();
  for (const TrainParams& candidate : candidates) {
    auto start = std::chrono::steady_clock::now();
    TrainParams params = candidate;
    params.rounds = options.max_rounds;
    // Sums over outer splits, per round count.
    std::vector<double> log_loss(round_counts.size()), raw_log_loss(round_counts.size()),
        temperature(round_counts.size()), macro_f1(round_counts.size()),
        accuracy(round_counts.size()), suspect(round_counts.size()),
        pathological(round_counts.size());
    for (const CvSplit* split : outer) {
      std::vector<size_t> train = DeduplicateRows(table, split->train, split->test);
      std::vector<int> fold = StratifiedFolds(table, train, options.inner_folds, params.seed);
      std::vector<std::vector<float>> oof(round_counts.size(),
                                          std::vector<float>(train.size() * kNumClasses));
      for (int f = 0; f < options.inner_folds; ++f) {
        std::vector<size_t> inner_train, held_out, positions;
        for (size_t i = 0; i < train.size(); ++i) {
          if (fold[i] == f) {
            held_out.push_back(train[i]);
            positions.push_back(i);
          } else {
            inner_train.push_back(train[i]);
          }
        }
        std::unique_ptr<Booster> booster;
        Status s = Booster::Train(table, inner_train, params, &booster);
        if (!s.ok()) return s;
        std::vector<float> features = GatherFeatures(table, held_out), margins;
        for (size_t k = 0; k < round_counts.size(); ++k) {
          s = booster->PredictMargins(features.data(), held_out.size(), round_counts[k], &margins);
          if (!s.ok()) return s;
          for (size_t j = 0; j < held_out.size(); ++j)
            std::copy_n(&margins[j * kNumClasses], kNumClasses,
                        &oof[k][positions[j] * kNumClasses]);
        }
      }
      std::vector<int> labels = GatherLabels(table, train);
      std::vector<float> probabilities(train.size() * kNumClasses);
      for (size_t k = 0; k < round_counts.size(); ++k) {
        double t =
            options.calibrated ? FitTemperature(oof[k].data(), labels.data(), train.size()) : 1.0;
        SoftmaxWithTemperature(oof[k].data(), train.size(), t, probabilities.data());
        ClassificationMetrics m = ComputeMetrics(probabilities.data(), labels.data(), train.size());
        log_loss[k] += m.log_loss;
        raw_log_loss[k] += LogLossAtTemperature(oof[k].data(), labels.data(), train.size(), 1.0);
        temperature[k] += t;
        macro_f1[k] += m.macro_f1;
        accuracy[k] += m.accuracy;
        suspect[k] += m.recall[1];
        pathological[k] += m.recall[2];
      }
    }
    // Early stopping on the inner log loss, among the round counts whose bundle fits the budget.
    std::vector<size_t> bytes;
    Status measured = MeasureBundleBytes(table, params, round_counts, &bytes);
    if (!measured.ok()) return measured;
    size_t best = 0;
    for (size_t k = 1; k < round_counts.size(); ++k) {
      const bool fits = options.max_bundle_bytes == 0 || bytes[k] <= options.max_bundle_bytes;
      if (fits && log_loss[k] < log_loss[best]) best = k;
    }
    const double n = static_cast<double>(outer.size());
    TuneOutcome outcome;
    outcome.params = candidate;
    outcome.params.rounds = round_counts[best];
    outcome.log_loss = log_loss[best] / n;
    outcome.raw_log_loss = raw_log_loss[best] / n;
    outcome.temperature = temperature[best] / n;
    outcome.macro_f1 = macro_f1[best] / n;
    outcome.accuracy = accuracy[best] / n;
    outcome.suspect_recall = suspect[best] / n;
    outcome.pathological_recall = pathological[best] / n;
    outcome.bundle_bytes = bytes[best];
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    outcomes->push_back(outcome);
    if (on_candidate) on_candidate(outcome);
  }
  return Status::Ok();
}

size_t SelectBest(const std::vector<TuneOutcome>& outcomes, const TuneOptions& options) {
  auto eligible = [&options](const TuneOutcome& o) {
    return options.max_bundle_bytes == 0 || o.bundle_bytes <= options.max_bundle_bytes;
  };
  double best_loss = INFINITY;
  for (const TuneOutcome& o : outcomes)
    if (eligible(o)) best_loss = std::min(best_loss, o.log_loss);
  size_t chosen = outcomes.size();
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!eligible(outcomes[i])) continue;
    if (outcomes[i].log_loss > best_loss + options.log_loss_tolerance) continue;
    if (chosen == outcomes.size() || outcomes[i].macro_f1 > outcomes[chosen].macro_f1) chosen = i;
  }
  return chosen;
}

}  // namespace trainer
}  // namespace fetal
