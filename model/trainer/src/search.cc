#include "fetal/trainer/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

namespace fetal {
namespace trainer {
namespace {

// Feature indices of the schema (model/src/schema.cc).
constexpr int32_t kBaseline = 0;
constexpr int32_t kHistogramMedian = 18;
constexpr int32_t kHistogramMean = 17;

std::string Format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string DescribeInputs(const std::vector<InputDifference>& inputs) {
  if (inputs.empty()) return "features as entered";
  std::string out;
  for (const InputDifference& d : inputs) {
    out += (out.empty() ? "" : " and ") + std::string(FeatureSchema()[d.input].key) + " - " +
           std::string(FeatureSchema()[d.reference].key);
  }
  return out;
}

// Every (booster candidate) of a stage: out-of-fold margins at each round count, then one entry
// per calibrator with its early-stopped round count.
struct Evaluated {
  TrainParams params;
  std::vector<std::vector<float>> oof;  // per round count
};

Status InnerOutOfFold(const ExamTable& table, const std::vector<size_t>& rows,
                      const std::vector<int>& fold, int folds, const TrainParams& params,
                      const std::vector<int>& round_counts, std::vector<std::vector<float>>* oof) {
  oof->assign(round_counts.size(), std::vector<float>(rows.size() * kNumClasses, 0.0f));
  TrainParams p = params;
  p.rounds = round_counts.back();
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train, held_out, positions;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (fold[i] == f) {
        held_out.push_back(rows[i]);
        positions.push_back(i);
      } else {
        train.push_back(rows[i]);
      }
    }
    if (held_out.empty()) continue;
    std::unique_ptr<Booster> booster;
    Status s = Booster::Train(table, train, p, &booster);
    if (!s.ok()) return s;
    std::vector<float> features = GatherFeatures(table, held_out), margins;
    for (size_t k = 0; k < round_counts.size(); ++k) {
      s = booster->PredictMargins(features.data(), held_out.size(), round_counts[k], &margins);
      if (!s.ok()) return s;
      for (size_t j = 0; j < held_out.size(); ++j) {
        std::copy_n(&margins[j * kNumClasses], kNumClasses, &(*oof)[k][positions[j] * kNumClasses]);
      }
    }
  }
  return Status::Ok();
}

// Scores `candidate`'s out-of-fold margins for each calibrator and appends one entry each.
void Score(const Evaluated& candidate, int stage, const SearchSpace& space,
           const std::vector<int>& labels, const std::vector<int>& fold, int folds,
           std::vector<SearchEntry>* entries) {
  const size_t n = labels.size();
  std::vector<float> probabilities(n * kNumClasses);
  for (Calibrator calibrator : space.calibrators) {
    SearchEntry best;
    bool have = false;
    for (size_t k = 0; k < space.round_counts.size(); ++k) {
      CrossFittedProbabilities(calibrator, candidate.oof[k].data(), labels.data(), n, fold, folds,
                               probabilities.data());
      ClassificationMetrics m = ComputeMetrics(probabilities.data(), labels.data(), n);
      if (!have || m.log_loss < best.inner.log_loss) {
        best.inner = m;
        best.params = candidate.params;
        best.params.rounds = space.round_counts[k];
        best.params.calibrator = calibrator;
        have = true;
      }
    }
    best.stage = stage;
    entries->push_back(best);
  }
}

size_t Choose(const std::vector<SearchEntry>& entries, double tolerance) {
  double lowest = INFINITY;
  for (const SearchEntry& e : entries) lowest = std::min(lowest, e.inner.log_loss);
  size_t chosen = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].inner.log_loss > lowest + tolerance) continue;
    if (chosen == entries.size() || entries[i].inner.macro_f1 > entries[chosen].inner.macro_f1)
      chosen = i;
  }
  return chosen;
}

}  // namespace

bool SearchSpace::Named(const std::string& name, const TrainParams& base, SearchSpace* out) {
  SearchSpace space;
  space.name = name;
  if (name == "default") {
    space.inputs = {{},
                    {{kHistogramMean, kBaseline}},
                    {{kHistogramMean, kBaseline}, {kHistogramMedian, kBaseline}}};
    space.class_weights = {{1, 3, 3}, {1, 3, 5}};
    space.refinements = {{0, 1, -1}, {0, -1, 0.5}};
    space.calibrators = {Calibrator::kTemperature, Calibrator::kVectorScaling};
    for (int r = 100; r <= 300; r += 25) space.round_counts.push_back(r);
  } else if (name == "tiny") {
    space.inputs = {{}, {{kHistogramMean, kBaseline}}};
    space.class_weights = {base.class_weight};
    space.refinements = {{0, 1, -1}};
    space.calibrators = {Calibrator::kTemperature, Calibrator::kVectorScaling};
    space.round_counts = {10, 20};
  } else if (name == "fixed") {
    space.inputs = {base.input_differences};
    space.class_weights = {base.class_weight};
    space.calibrators = {base.calibrator};
    space.round_counts = {base.rounds};
  } else {
    return false;
  }
  *out = std::move(space);
  return true;
}

std::string SearchSpace::Describe() const {
  std::string out = "search \"" + name + "\"\n  stage 1 inputs:";
  for (const auto& set : inputs) out += " [" + DescribeInputs(set) + "]";
  out += "\n  stage 1 class weights:";
  for (const auto& w : class_weights)
    out += " (" + Format(w[0]) + "," + Format(w[1]) + "," + Format(w[2]) + ")";
  out += "\n  stage 2 refinements of the stage-1 winner:";
  if (refinements.empty()) out += " none";
  for (const Refinement& r : refinements) {
    out += " {";
    if (r.max_depth > 0) out += "max_depth " + std::to_string(r.max_depth) + " ";
    if (r.min_child_weight >= 0) out += "min_child_weight " + Format(r.min_child_weight) + " ";
    if (r.colsample_bytree >= 0) out += "colsample_bytree " + Format(r.colsample_bytree) + " ";
    out.back() = '}';
  }
  out += "\n  calibrators:";
  for (Calibrator c : calibrators) out += std::string(" ") + CalibratorName(c);
  out += "\n  rounds (early stopping):";
  for (int r : round_counts) out += " " + std::to_string(r);
  out += "\n  rule: lowest inner log loss within " + Format(log_loss_tolerance) +
         ", then highest inner macro-F1\n";
  return out;
}

std::string RecipeLabel(const TrainParams& p) {
  std::string inputs;
  for (const InputDifference& d : p.input_differences) {
    inputs += (inputs.empty() ? "" : "+") + std::string(FeatureSchema()[d.input].key) + "-" +
              std::string(FeatureSchema()[d.reference].key);
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, " w%g,%g,%g d%d mcw%g col%g r%d %s", p.class_weight[0],
                p.class_weight[1], p.class_weight[2], p.max_depth, p.min_child_weight,
                p.colsample_bytree, p.rounds, CalibratorName(p.calibrator));
  return (inputs.empty() ? "features" : inputs) + buf;
}

const std::vector<float>& SearchOutcome::MarginsAt(int rounds) const {
  size_t k = std::find(round_counts.begin(), round_counts.end(), rounds) - round_counts.begin();
  return oof_margins[std::min(k, oof_margins.size() - 1)];
}

Status Search(const ExamTable& table, const std::vector<size_t>& rows, const SearchSpace& space,
              const TrainParams& base, SearchOutcome* out) {
  auto start = std::chrono::steady_clock::now();
  Status s = base.Check();
  if (!s.ok()) return s;
  if (rows.empty()) return Status::InvalidArgument("no training rows");
  if (space.inputs.empty() || space.class_weights.empty() || space.calibrators.empty() ||
      space.round_counts.empty()) {
    return Status::InvalidArgument("search space \"" + space.name + "\" is empty");
  }
  const int folds = base.inner_folds;
  *out = SearchOutcome();
  out->inner_fold = StratifiedFolds(table, rows, folds, base.seed);
  out->round_counts = space.round_counts;
  const std::vector<int> labels = GatherLabels(table, rows);

  std::vector<Evaluated> boosters;  // every candidate booster, in entry order / calibrators
  auto evaluate = [&](const TrainParams& params, int stage) {
    Evaluated e;
    e.params = params;
    Status st = params.Check();
    if (st.ok())
      st = InnerOutOfFold(table, rows, out->inner_fold, folds, params, space.round_counts, &e.oof);
    if (!st.ok()) return st;
    Score(e, stage, space, labels, out->inner_fold, folds, &out->entries);
    boosters.push_back(std::move(e));
    return Status::Ok();
  };

  for (const auto& inputs : space.inputs) {
    for (const auto& weights : space.class_weights) {
      TrainParams p = base;
      p.input_differences = inputs;
      p.class_weight = weights;
      if (!(s = evaluate(p, 1)).ok()) return s;
    }
  }
  const TrainParams winner = out->entries[Choose(out->entries, space.log_loss_tolerance)].params;
  for (const Refinement& r : space.refinements) {
    TrainParams p = winner;
    p.rounds = base.rounds;
    p.calibrator = base.calibrator;
    if (r.max_depth > 0) p.max_depth = r.max_depth;
    if (r.min_child_weight >= 0) p.min_child_weight = r.min_child_weight;
    if (r.colsample_bytree >= 0) p.colsample_bytree = r.colsample_bytree;
    if (!(s = evaluate(p, 2)).ok()) return s;
  }
  out->chosen = Choose(out->entries, space.log_loss_tolerance);
  out->oof_margins = std::move(boosters[out->chosen / space.calibrators.size()].oof);
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

}  // namespace trainer
}  // namespace fetal
