#include "cv_report.h"

#include <algorithm>
#include <map>
#include <vector>

#include "cli_io.h"
#include "fetal/trainer/model_card.h"

namespace fetal {
namespace cli {

using trainer::CvResult;
using trainer::CvSplitResult;
using trainer::RecipeLabel;

void PrintCvReport(const CvResult& cv, double set_level, FILE* out) {
  std::fprintf(out,
               "%-6s %-4s %5s %5s | %8s %8s %8s %8s %8s %8s | %8s %8s %8s | %6s %6s %6s %5s | %s\n",
               "repeat", "fold", "train", "dupes", "accuracy", "macroF1", "balAcc", "rec_N",
               "rec_S", "rec_P", "logloss", "brier", "ECE", "cov_N", "cov_S", "cov_P", "size",
               "recipe chosen by the inner search");
  for (const CvSplitResult& s : cv.splits) {
    const trainer::ClassificationMetrics& m = s.metrics;
    std::fprintf(out,
                 "%-6d %-4d %5zu %5zu | %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f | %8.4f %8.4f %8.4f | "
                 "%6.3f %6.3f %6.3f %5.3f | %s\n",
                 s.repeat, s.fold, s.train_rows, s.train_rows_removed, m.accuracy, m.macro_f1,
                 m.balanced_accuracy, m.recall[0], m.recall[1], m.recall[2], m.log_loss, m.brier,
                 m.ece, s.coverage.coverage(0), s.coverage.coverage(1), s.coverage.coverage(2),
                 s.coverage.mean_size(), RecipeLabel(s.chosen).c_str());
  }
  using M = const CvSplitResult&;
  auto column = [&cv](auto get) {
    std::vector<double> v;
    for (const CvSplitResult& s : cv.splits) v.push_back(get(s));
    return trainer::Summarize(v);
  };
  const std::pair<const char*, trainer::MeanStd> rows[] = {
      {"accuracy", column([](M s) { return s.metrics.accuracy; })},
      {"macro-F1", column([](M s) { return s.metrics.macro_f1; })},
      {"balanced accuracy", column([](M s) { return s.metrics.balanced_accuracy; })},
      {"recall Normal", column([](M s) { return s.metrics.recall[0]; })},
      {"recall Suspect", column([](M s) { return s.metrics.recall[1]; })},
      {"recall Pathological", column([](M s) { return s.metrics.recall[2]; })},
      {"log loss", column([](M s) { return s.metrics.log_loss; })},
      {"Brier score", column([](M s) { return s.metrics.brier; })},
      {"top-label ECE (15 bins)", column([](M s) { return s.metrics.ece; })},
      {"temperature", column([](M s) { return s.temperature; })},
      {"mean set size", column([](M s) { return s.coverage.mean_size(); })},
  };
  std::fprintf(out, "\nmean ± std over %zu splits:\n", cv.splits.size());
  for (const auto& [name, value] : rows) {
    std::fprintf(out, "  %-24s %s\n", name, trainer::FormatMeanStd(value).c_str());
  }

  std::map<std::string, int> recipes;
  for (const CvSplitResult& s : cv.splits) recipes[RecipeLabel(s.chosen)]++;
  std::fprintf(out, "\nrecipes the inner search chose (splits):\n");
  for (const auto& [label, count] : recipes) std::fprintf(out, "  %3d  %s\n", count, label.c_str());

  // Conformal coverage: per class and split, against the level minus the binomial allowance.
  std::fprintf(out,
               "\nconformal prediction sets, level %.2f (class-conditional; per split: coverage of "
               "the class's test rows;\nallowance: the Beta-Binomial chance shortfall at that "
               "split's calibration and test row counts, family-wise 5%% over every split and "
               "class):\n",
               set_level);
  std::fprintf(out, "  %-13s %10s %9s %9s %9s %9s %s\n", "class", "rows/split", "mean", "min",
               "pooled", "allowance", "splits below level - allowance");
  std::vector<trainer::SetCoverage> per_split;
  for (const CvSplitResult& s : cv.splits) per_split.push_back(s.coverage);
  const trainer::CoverageSummary summary = trainer::SummarizeCoverage(per_split, set_level);
  const trainer::SetCoverage& pooled = summary.pooled;
  for (int c = 0; c < kNumClasses; ++c) {
    std::fprintf(out, "  %-13s %10.1f %9.4f %9.4f %9.4f %9.4f %d of %zu\n",
                 std::string(kClassNames[c]).c_str(), summary.rows_per_split[c], summary.mean[c],
                 summary.min[c], pooled.coverage(c), summary.allowance[c], summary.below[c],
                 cv.splits.size());
  }
  size_t total = 0;
  for (size_t count : pooled.size_counts) total += count;
  std::fprintf(out, "  set size over all test rows: mean %.4f;", pooled.mean_size());
  for (int size = 0; size <= kNumClasses; ++size) {
    std::fprintf(out, " %d class%s %zu (%.1f%%)%s", size, size == 1 ? "" : "es",
                 pooled.size_counts[size],
                 100.0 * pooled.size_counts[size] / std::max<size_t>(1, total),
                 size < kNumClasses ? "," : "\n");
  }
}

std::string PredictionsCsv(const CvResult& cv) {
  std::string out = "repeat,fold,row,p_normal,p_suspect,p_pathological,set\n";
  char buf[160];
  for (const CvSplitResult& s : cv.splits) {
    for (size_t i = 0; i < s.test_rows.size(); ++i) {
      const float* p = &s.probabilities[i * kNumClasses];
      std::snprintf(buf, sizeof buf, "%d,%d,%zu,%.6f,%.6f,%.6f,", s.repeat, s.fold, s.test_rows[i],
                    p[0], p[1], p[2]);
      out += buf + SetNames(s.sets[i]) + "\n";
    }
  }
  return out;
}

std::string SearchLogCsv(const CvResult& cv) {
  std::string out =
      "repeat,fold,stage,recipe,rounds,calibrator,inner_log_loss,inner_accuracy,inner_macro_f1,"
      "inner_recall_suspect,inner_recall_pathological,inner_ece,chosen\n";
  char buf[256];
  for (const CvSplitResult& s : cv.splits) {
    for (size_t k = 0; k < s.search.size(); ++k) {
      const trainer::SearchEntry& e = s.search[k];
      const bool chosen = k == s.search_chosen;
      std::snprintf(buf, sizeof buf, ",%d,%s,%.5f,%.5f,%.5f,%.4f,%.4f,%.5f,%d\n", e.params.rounds,
                    trainer::CalibratorName(e.params.calibrator), e.inner.log_loss,
                    e.inner.accuracy, e.inner.macro_f1, e.inner.recall[1], e.inner.recall[2],
                    e.inner.ece, chosen ? 1 : 0);
      // The label holds commas (class weights): quoted.
      out += std::to_string(s.repeat) + "," + std::to_string(s.fold) + "," +
             std::to_string(e.stage) + ",\"" + RecipeLabel(e.params) + "\"" + buf;
    }
  }
  return out;
}

}  // namespace cli
}  // namespace fetal
