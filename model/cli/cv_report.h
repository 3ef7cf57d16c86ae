// What `fetal-model cv` prints and writes: the per-split table, the summary, the conformal
// coverage report, the per-row predictions CSV and the search log CSV.
#pragma once

#include <cstdio>
#include <string>

#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"

namespace fetal {
namespace cli {

// Per-split table, mean and std rows, mean ± std list, the recipes chosen and the coverage report.
void PrintCvReport(const trainer::CvResult& cv, double set_level, FILE* out);

// repeat,fold,row,p_normal,p_suspect,p_pathological,set (set: ';'-separated class names).
std::string PredictionsCsv(const trainer::CvResult& cv);

// repeat,fold,stage,<recipe columns>,inner figures,chosen: every entry every split's search
// scored.
std::string SearchLogCsv(const trainer::CvResult& cv);

}  // namespace cli
}  // namespace fetal
