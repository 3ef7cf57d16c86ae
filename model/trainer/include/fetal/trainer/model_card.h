// The model card: a markdown report written next to a trained bundle (`train --card`).
// Format described in docs/training.md.
#pragma once

#include <string>

#include "fetal/model.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"

namespace fetal {
namespace trainer {

// `cv` may be null (no cross-validation was run); the card then says so instead of metrics.
// Deterministic: depends only on its inputs (no clock), so the card is reproducible too.
// `space` is the search that chose the recipe (summary.fit holds what it found).
std::string RenderModelCard(const Model& model, const Dataset& data, const SearchSpace& space,
                            const TrainSummary& summary, const CvResult* cv);

// "0.9512 ± 0.0101" style cell.
std::string FormatMeanStd(const MeanStd& value, int digits = 4);

}  // namespace trainer
}  // namespace fetal
