#include "fetal/trainer/model_card.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "fetal/schema.h"

namespace fetal {
namespace trainer {
namespace {

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The conformal coverage over the splits and the set-size distribution.
void RenderCoverage(const CvResult& cv, double level,
                    const std::function<void(const std::string&)>& line) {
  std::vector<SetCoverage> per_split;
  for (const CvSplitResult& split : cv.splits) per_split.push_back(split.coverage);
  const CoverageSummary summary = SummarizeCoverage(per_split, level);
  line("### Prediction sets (level " + Fixed(level, 2) + ", class-conditional)");
  line("");
  line(
      "Coverage = the fraction of a class's test rows whose set holds their class. Allowance: "
      "how far below the level chance alone takes one class on one split — the lower tail of "
      "the Beta-Binomial law of exact conformal coverage at that split's calibration and test "
      "row counts, at a family-wise 5% over every split and class (docs/training.md); a split "
      "counts as below when its coverage is under the level minus its allowance.");
  line("");
  line(
      "| class | test rows per split | mean coverage | min coverage | pooled coverage | "
      "allowance | splits below |");
  line("|---|---|---|---|---|---|---|");
  for (int c = 0; c < kNumClasses; ++c) {
    line("| " + std::string(kClassNames[c]) + " | " + Fixed(summary.rows_per_split[c], 1) + " | " +
         Fixed(summary.mean[c], 4) + " | " + Fixed(summary.min[c], 4) + " | " +
         Fixed(summary.pooled.coverage(c), 4) + " | " + Fixed(summary.allowance[c], 4) + " | " +
         std::to_string(summary.below[c]) + " of " + std::to_string(cv.splits.size()) + " |");
  }
  line("");
  size_t total = 0;
  for (size_t count : summary.pooled.size_counts) total += count;
  line("Set size over all test rows (mean " + Fixed(summary.pooled.mean_size(), 4) + "):");
  line("");
  line("| classes in the set | test rows | share |");
  line("|---|---|---|");
  for (int size = 1; size <= kNumClasses; ++size) {
    line("| " + std::to_string(size) + " | " + std::to_string(summary.pooled.size_counts[size]) +
         " | " + Fixed(100.0 * summary.pooled.size_counts[size] / std::max<size_t>(1, total), 1) +
         "% |");
  }
  line("");
}

std::string Joined(const std::vector<size_t>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out;
}

// The reference models' figures on the published folds of the published data, from
// model/data/README.md (scikit-learn 1.2.1, XGBoost 1.7.4, mean over the 25 splits).
constexpr char kPublishedDataSha256[] =
    "4e7623efaa7828192c42f0e07a539ec05c80357da14fed6bea0636c0caaff8cd";
constexpr char kPublishedFoldsSha256[] =
    "f69bce8b29af886f8e3aea453473f4016c1c11e590829367bbcd0ff9f31d7c74";
struct ReferenceRow {
  const char* model;
  const char*
      figures;  // accuracy | macro-F1 | Suspect recall | Pathological recall | log loss | ECE
};
constexpr ReferenceRow kReferenceRows[] = {
    {"multinomial logistic regression (standardized)",
     "0.887 | 0.784 | 0.648 | 0.693 | 0.284 | 0.035"},
    {"random forest, 500 trees", "0.938 | 0.877 | 0.738 | 0.849 | 0.181 | 0.041"},
    {"XGBoost, 200 rounds, defaults", "0.944 | 0.891 | 0.776 | 0.878 | 0.226 | 0.042"},
    {"XGBoost, tuned by inner CV (depth 4, eta 0.05, 300 rounds)",
     "0.945 | 0.894 | 0.776 | 0.872 | 0.169 | 0.025"},
    {"HistGradientBoosting, defaults", "0.946 | 0.895 | 0.781 | 0.874 | 0.307 | 0.048"},
};

// This procedure beside the reference models, when the splits are the ones their figures are of.
void RenderReferenceComparison(const Dataset& data, const CvResult& cv,
                               const std::function<void(const std::string&)>& line) {
  line("### Against the reference models on the same folds");
  line("");
  if (data.sha256 != kPublishedDataSha256 || cv.folds_sha256 != kPublishedFoldsSha256) {
    line(
        "The reference figures (model/data/README.md) are of the published data and "
        "`cv_folds.csv`; this run used other data or folds, so they are not compared here.");
    line("");
    return;
  }
  line(
      "Mean over the same 25 splits; reference models from model/data/README.md (scikit-learn "
      "1.2.1, XGBoost 1.7.4).");
  line("");
  line("| model | accuracy | macro-F1 | Suspect recall | Pathological recall | log loss | ECE |");
  line("|---|---|---|---|---|---|---|");
  for (const ReferenceRow& r : kReferenceRows)
    line(std::string("| ") + r.model + " | " + r.figures + " |");
  std::array<std::vector<double>, 6> v;
  for (const CvSplitResult& split : cv.splits) {
    const ClassificationMetrics& m = split.metrics;
    const double figures[6] = {m.accuracy, m.macro_f1, m.recall[1], m.recall[2], m.log_loss, m.ece};
    for (int i = 0; i < 6; ++i) v[i].push_back(figures[i]);
  }
  std::string row = "| **this procedure, nested** |";
  for (int i = 0; i < 6; ++i) row += " **" + Fixed(Summarize(v[i]).mean, 4) + "** |";
  line(row);
  line("");
}

}  // namespace

std::string FormatMeanStd(const MeanStd& value, int digits) {
  return Fixed(value.mean, digits) + " ± " + Fixed(value.std, digits);
}

std::string RenderModelCard(const Model& model, const Dataset& data, const SearchSpace& space,
                            const TrainSummary& summary, const CvResult* cv) {
  const TrainParams& params = summary.fit.params;
  std::string md;
  auto line = [&md](const std::string& s = {}) { md += s + "\n"; };

  line("# Model card: " + model.name + " v" + std::to_string(model.model_version));
  line();
  line(
      "Fetal health classifier (Normal / Suspect / Pathological) from 21 cardiotocography (CTG) "
      "features, gradient-boosted trees (XGBoost `multi:softprob`) with calibrated probabilities "
      "and class-conditional conformal prediction sets.");
  line();
  line("| | |");
  line("|---|---|");
  line("| created | " + model.created + " |");
  line("| produced by | " + model.source + " |");
  line("| bundle format | " + std::to_string(model.format_version) + " |");
  line("| trees | " + std::to_string(model.trees.size()) + " (" +
       std::to_string(model.trees.size() / kNumClasses) + " rounds x " +
       std::to_string(kNumClasses) + " classes) |");
  std::string inputs = "the 21 features as entered";
  for (size_t i = 0; i < model.input_differences.size(); ++i) {
    const InputDifference& d = model.input_differences[i];
    inputs += std::string(i ? "; " : ", except ") + "`" +
              std::string(FeatureSchema()[d.input].key) + "` is taken relative to `" +
              std::string(FeatureSchema()[d.reference].key) + "` (" +
              std::string(FeatureSchema()[d.input].key) + " - " +
              std::string(FeatureSchema()[d.reference].key) + ")";
  }
  line("| model inputs | " + inputs + " |");
  if (params.calibrator == Calibrator::kTemperature) {
    line("| calibration | temperature " + Fixed(model.temperature, 4) +
         " (probabilities = softmax(margin / T), T fit on " + std::to_string(params.inner_folds) +
         "-fold out-of-fold margins) |");
  } else {
    line("| calibration | vector scaling (softmax(scale_c margin_c + bias_c), fit on " +
         std::to_string(params.inner_folds) +
         "-fold out-of-fold margins), folded into the leaves and base score; temperature 1 |");
  }
  const ConformalSets& sets = model.conformal;
  if (sets.level > 0) {
    std::string floors;
    for (int c = 0; c < kNumClasses; ++c) {
      floors += (c ? ", " : "") + std::string(kClassNames[c]) + " " + Fixed(sets.floor[c], 4) +
                " (" + std::to_string(sets.calibration_rows[c]) + " rows)";
    }
    line("| prediction sets | level " + Fixed(sets.level, 2) +
         ", class c in the set when p_c >= its floor: " + floors + " |");
  }
  line("| FIGO rule set | " + model.figo_ruleset + " |");
  line();

  line("## Intended use");
  line();
  line(
      "Decision support for clinicians reading an antepartum/intrapartum CTG: the model's class "
      "and probabilities are shown beside the inputs, the per-feature contributions, the FIGO "
      "rule cross-check and an out-of-distribution warning. It does not replace clinical "
      "judgement. The labels it learned are the consensus reading of three expert obstetricians "
      "of the CTG, **not** neonatal outcomes; the model reproduces expert classification, it "
      "does not predict outcome. Features must come from SisPorto-style automated analysis "
      "(event features are rates per second). Exams flagged out-of-distribution or with "
      "features outside the training range deserve extra scrutiny.");
  line();

  line("## Training data");
  line();
  line("| | |");
  line("|---|---|");
  line("| file | `" + data.file_name + "` |");
  line("| SHA-256 | `" + data.sha256 + "` |");
  line("| rows read | " + std::to_string(summary.input_rows) + " |");
  line("| exact duplicates removed | " + std::to_string(summary.duplicates_removed) +
       (summary.removed_rows.empty()
            ? std::string()
            : " (0-based data rows " + Joined(summary.removed_rows) + ")") +
       " |");
  line("| rows trained on | " + std::to_string(summary.training_rows) + " |");
  {
    std::array<size_t, kNumClasses> counts{};
    for (size_t r = 0; r < data.table.rows; ++r) counts[data.table.labels[r]]++;
    std::string cell;
    for (int c = 0; c < kNumClasses; ++c)
      cell += (c ? ", " : "") + std::string(kClassNames[c]) + " " + std::to_string(counts[c]);
    line("| class counts (file) | " + cell + " |");
  }
  line();
  line(
      "Data: the public \"Fetal Health Classification\" data set (Kaggle, andrewmvd), i.e. the UCI "
      "Machine Learning Repository \"Cardiotocography\" data set (3-class NSP labels): features "
      "extracted by SisPorto 2.0, labels from the consensus of three expert obstetricians. "
      "Ayres de Campos et al. (2000), SisPorto 2.0: A Program for Automated Analysis of "
      "Cardiotocograms, J Matern Fetal Med 5:311-318.");
  line();

  line("## Parameters");
  line();
  line("```json");
  line(model.params_json.empty() ? params.ToJson() : model.params_json);
  line("```");
  line();
  line("## How the recipe was chosen");
  line();
  line("By inner cross-validation on the training rows only (docs/training.md):");
  line();
  line("```");
  md += space.Describe();
  line("```");
  line();
  const SearchOutcome& search = summary.fit.search;
  if (!search.entries.empty()) {
    line("Inner out-of-fold figures of every candidate on the " +
         std::to_string(summary.training_rows) +
         " training rows (rounds early-stopped on the cross-fitted calibrated log loss):");
    line();
    line("| stage | recipe | log loss | accuracy | macro-F1 | recall S | recall P | ECE |");
    line("|---|---|---|---|---|---|---|---|");
    for (size_t i = 0; i < search.entries.size(); ++i) {
      const SearchEntry& e = search.entries[i];
      const std::string mark = i == search.chosen ? "**" : "";
      line("| " + std::to_string(e.stage) + " | " + mark + "`" + RecipeLabel(e.params) + "`" +
           mark + " | " + Fixed(e.inner.log_loss, 4) + " | " + Fixed(e.inner.accuracy, 4) + " | " +
           Fixed(e.inner.macro_f1, 4) + " | " + Fixed(e.inner.recall[1], 3) + " | " +
           Fixed(e.inner.recall[2], 3) + " | " + Fixed(e.inner.ece, 4) + " |");
    }
    line();
    if (params.rounds != search.params().rounds) {
      line("The chosen " + std::to_string(search.params().rounds) +
           " rounds did not fit the bundle budget; the model keeps the first " +
           std::to_string(params.rounds) + ".");
      line();
    }
  }

  line("## Cross-validated performance");
  line();
  if (cv == nullptr || cv->splits.empty()) {
    line("Not cross-validated (no folds file was given).");
    line();
  } else {
    const size_t n = cv->splits.size();
    std::vector<std::pair<std::string, std::function<double(const ClassificationMetrics&)>>> rows =
        {
            {"accuracy", [](const ClassificationMetrics& m) { return m.accuracy; }},
            {"macro-F1", [](const ClassificationMetrics& m) { return m.macro_f1; }},
            {"balanced accuracy",
             [](const ClassificationMetrics& m) { return m.balanced_accuracy; }},
            {"recall Normal", [](const ClassificationMetrics& m) { return m.recall[0]; }},
            {"recall Suspect", [](const ClassificationMetrics& m) { return m.recall[1]; }},
            {"recall Pathological", [](const ClassificationMetrics& m) { return m.recall[2]; }},
            {"precision Normal", [](const ClassificationMetrics& m) { return m.precision[0]; }},
            {"precision Suspect", [](const ClassificationMetrics& m) { return m.precision[1]; }},
            {"precision Pathological",
             [](const ClassificationMetrics& m) { return m.precision[2]; }},
            {"log loss", [](const ClassificationMetrics& m) { return m.log_loss; }},
            {"Brier score", [](const ClassificationMetrics& m) { return m.brier; }},
            {"top-label ECE (15 bins)", [](const ClassificationMetrics& m) { return m.ece; }},
            {"ECE Normal (one-vs-rest)",
             [](const ClassificationMetrics& m) { return m.class_ece[0]; }},
            {"ECE Suspect (one-vs-rest)",
             [](const ClassificationMetrics& m) { return m.class_ece[1]; }},
            {"ECE Pathological (one-vs-rest)",
             [](const ClassificationMetrics& m) { return m.class_ece[2]; }},
            {"temperature (per split; 1 = vector scaling)", nullptr},
        };
    line("Nested cross-validation of the whole procedure on " + std::to_string(n) +
         " train/test splits (the published protocol, `cv_folds.csv`: repeated stratified "
         "5-fold). Each split runs the recipe search above on its training rows only (exact "
         "duplicates and rows identical to a test row removed), trains, calibrates and sets up "
         "the prediction sets of what it chose, and is scored on all of its published test rows "
         "by the model core. Mean ± sample standard deviation over the splits.");
    line();
    line("| metric | mean ± std |");
    line("|---|---|");
    for (const auto& [name, get] : rows) {
      std::vector<double> values;
      for (const CvSplitResult& split : cv->splits)
        values.push_back(get ? get(split.metrics) : split.temperature);
      line("| " + name + " | " + FormatMeanStd(Summarize(values)) + " |");
    }
    line();
    line(
        "Brier score = mean over rows of the sum over the 3 classes of (p - y)^2 (range 0..2). "
        "ECE = sum over 15 equal-width probability bins of |bin|/n x |accuracy - confidence|.");
    line();
    RenderReferenceComparison(data, *cv, line);

    std::array<std::array<size_t, kNumClasses>, kNumClasses> confusion{};
    for (const CvSplitResult& split : cv->splits)
      for (int t = 0; t < kNumClasses; ++t)
        for (int p = 0; p < kNumClasses; ++p) confusion[t][p] += split.metrics.confusion[t][p];
    line("### Confusion matrix (summed over the " + std::to_string(n) + " splits)");
    line();
    line("| true \\ predicted | Normal | Suspect | Pathological |");
    line("|---|---|---|---|");
    for (int t = 0; t < kNumClasses; ++t) {
      std::string row = "| " + std::string(kClassNames[t]);
      for (int p = 0; p < kNumClasses; ++p) row += " | " + std::to_string(confusion[t][p]);
      line(row + " |");
    }
    line();

    std::map<std::string, int> recipes;
    for (const CvSplitResult& split : cv->splits) recipes[RecipeLabel(split.chosen)]++;
    line("### Recipes the inner search chose");
    line();
    line("| splits | recipe |");
    line("|---|---|");
    for (const auto& [recipe, count] : recipes)
      line("| " + std::to_string(count) + " | `" + recipe + "` |");
    line();

    RenderCoverage(*cv, model.conformal.level > 0 ? model.conformal.level : params.set_level, line);

    // Pool the test predictions of every split for the reliability tables.
    std::vector<float> probabilities;
    std::vector<int> labels;
    for (const CvSplitResult& split : cv->splits) {
      probabilities.insert(probabilities.end(), split.probabilities.begin(),
                           split.probabilities.end());
      for (size_t r : split.test_rows) labels.push_back(data.table.labels[r]);
    }
    line("### Per-class calibration (one-vs-rest, test predictions of all splits pooled)");
    line();
    line(
        "Rows: the 15 equal-width bins of the predicted probability of the class that hold any "
        "prediction; `observed` is the fraction of those predictions whose true class it is.");
    line();
    for (int c = 0; c < kNumClasses; ++c) {
      std::vector<ReliabilityBin> bins =
          ReliabilityTable(probabilities.data(), labels.data(), labels.size(), c);
      double ece = 0;
      for (const ReliabilityBin& b : bins)
        ece += static_cast<double>(b.count) / labels.size() *
               std::fabs(b.observed_frequency - b.mean_predicted);
      line("**" + std::string(kClassNames[c]) + "** (pooled ECE " + Fixed(ece, 4) + ")");
      line();
      line("| p range | predictions | mean predicted | observed |");
      line("|---|---|---|---|");
      for (const ReliabilityBin& b : bins) {
        if (b.count == 0) continue;
        line("| " + Fixed(b.lower, 3) + "–" + Fixed(b.upper, 3) + " | " + std::to_string(b.count) +
             " | " + Fixed(b.mean_predicted, 3) + " | " + Fixed(b.observed_frequency, 3) + " |");
      }
      line();
    }
  }

  line("## Out-of-distribution reference");
  line();
  line("Mahalanobis distance on standardized features (log1p for rates and counts), fit on the " +
       std::to_string(summary.training_rows) + " training rows; threshold " +
       Fixed(model.ood.threshold, 3) + " = the " + Fixed(model.ood.threshold_quantile * 100, 1) +
       "th percentile of the training distances. Values outside the training min/max are listed "
       "per feature.");
  line();
  line("## FIGO rule layer");
  line();
  line("Rule set `" + model.figo_ruleset +
       "` (docs/figo-rules.md) is evaluated beside the model "
       "and shown with it; it never overrides the model's class.");
  return md;
}

}  // namespace trainer
}  // namespace fetal
