// MonitoringReference: what production monitoring compares a model's live exams against, fitted
// by the trainer on the training data and stored in the bundle's optional "monitoring" section
// (docs/bundle-format.md): per feature, quantile bins and the training rows in each; the class
// prior; the model's out-of-fold predicted class mix, top-probability and OOD-distance
// distributions.
//
// Native only (trainer, server, tools): nothing in the WebAssembly build reads the section.
// Thread-safety: plain data; the functions are pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fetal/schema.h"
#include "fetal/status.h"

namespace fetal {

// At most this many bins per feature (deciles).
inline constexpr int kMonitoringBins = 10;

struct ReferenceBins {
  // Ascending cut points; bin b holds values in [edges[b-1], edges[b]) (the first bin is open
  // below, the last open above): edges.size() + 1 <= kMonitoringBins bins.
  std::vector<double> edges;
  std::vector<double> counts;  // training rows per bin, edges.size() + 1 of them
};

struct MonitoringReference {
  std::array<ReferenceBins, kNumFeatures> features;
  std::array<double, kNumClasses> class_prior{};          // label proportions
  std::array<double, kNumClasses> predicted_class_mix{};  // out-of-fold predicted class proportions
  ReferenceBins top_probability;  // out-of-fold top calibrated probability (deciles)
  ReferenceBins ood_distance;     // OOD distances of the training rows (deciles); empty if none
  int64_t rows = 0;
};

// The bin of `value`: the number of edges <= value.
int BinOf(const ReferenceBins& bins, double value);

// Decile bins of n values: the distinct 10 %, 20 %, ..., 90 % quantiles (the value at index
// floor(q * n) of the sorted values) above the minimum, and the count of values in each bin.
ReferenceBins DecileBins(std::vector<double> values);

// Fits the reference on n training rows: features row-major (n * kNumFeatures, finite), labels
// (0..2), out-of-fold calibrated probabilities (n * kNumClasses), OOD distances (n, or empty).
// InvalidArgument for n == 0 or a NaN feature.
Status FitMonitoringReference(const float* features, const int* labels,
                              const float* oof_probabilities, const std::vector<double>& ood,
                              size_t n, MonitoringReference* out);

// The section's JSON object text ({"version": 1, ...}), and back. FromJson fails (Corruption
// naming the field) for anything but a well-formed version-1 section.
std::string MonitoringReferenceToJson(const MonitoringReference& reference);
Status MonitoringReferenceFromJson(const std::string& json_text, MonitoringReference* out);

// The "monitoring" section of a bundle's header, when it has one: *found false (and OK) for a
// bundle without it. The bytes must be a bundle ReadBundle accepted.
Status MonitoringReferenceFromBundle(const uint8_t* data, size_t size, MonitoringReference* out,
                                     bool* found);

}  // namespace fetal
