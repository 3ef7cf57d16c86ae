// The 21 SisPorto CTG features. Hard limits are physiological / plausibility limits that reject
// typing and unit mistakes; they are deliberately wider than the training data (which only
// produces warnings). docs/features.md explains every limit.
#include "fetal/schema.h"

namespace fetal {

namespace {

// At most one event every 15 seconds: an event (acceleration, contraction, deceleration) lasts
// at least 15 s in the SisPorto definitions, so a higher rate cannot be real.
constexpr double kMaxEventRate = 1.0 / 15.0;
// A prolonged deceleration lasts at least 2 minutes, so at most one per 120 s.
constexpr double kMaxProlongedRate = 1.0 / 120.0;
// Fetal movements are short and can come in bursts (the data has 23 traces above 1/15 s^-1,
// up to 0.189); one per second is the ceiling of what a movement detector can mark.
constexpr double kMaxMovementRate = 1.0;

constexpr double kMinHeartRate = 30;   // lowest FHR a CTG monitor records
constexpr double kMaxHeartRate = 250;  // highest FHR a CTG monitor records
constexpr double kMinBaseline = 50;    // a baseline below this is not a fetal heart rate
constexpr double kMaxHistogramWidth = kMaxHeartRate - kMinHeartRate;
constexpr double kMaxVariance = (kMaxHistogramWidth / 2) * (kMaxHistogramWidth / 2);

// Columns: dataset name, key, label, unit, group (form order), description (the form's help),
// kind, hard limits, integer, log1p for OOD.
const std::array<FeatureSpec, kNumFeatures> kSchema = {{
    {"baseline value", "baseline_value", "Baseline FHR", "bpm", "baseline",
     "Baseline fetal heart rate: the mean FHR over stable segments, excluding accelerations and "
     "decelerations.",
     FeatureKind::kHeartRate, kMinBaseline, kMaxHeartRate, false, false},
    {"accelerations", "accelerations", "Accelerations", "1/s", "events",
     "Accelerations (FHR rises of at least 15 bpm for at least 15 s) per second of trace.",
     FeatureKind::kEventRate, 0, kMaxEventRate, false, true},
    {"fetal_movement", "fetal_movement", "Fetal movements", "1/s", "events",
     "Fetal movements marked during the trace, per second of trace.", FeatureKind::kEventRate, 0,
     kMaxMovementRate, false, true},
    {"uterine_contractions", "uterine_contractions", "Uterine contractions", "1/s", "events",
     "Uterine contractions per second of trace (5 in 10 minutes = 0.0083).",
     FeatureKind::kEventRate, 0, kMaxEventRate, false, true},
    {"light_decelerations", "light_decelerations", "Light decelerations", "1/s", "decelerations",
     "Light (shallow, short) decelerations per second of trace.", FeatureKind::kEventRate, 0,
     kMaxEventRate, false, true},
    {"severe_decelerations", "severe_decelerations", "Severe decelerations", "1/s", "decelerations",
     "Severe (deep) decelerations per second of trace.", FeatureKind::kEventRate, 0, kMaxEventRate,
     false, true},
    {"prolongued_decelerations", "prolongued_decelerations", "Prolonged decelerations", "1/s",
     "decelerations", "Prolonged decelerations (lasting 2 minutes or more) per second of trace.",
     FeatureKind::kEventRate, 0, kMaxProlongedRate, false, true},
    {"abnormal_short_term_variability", "abnormal_short_term_variability",
     "Abnormal short-term variability", "%", "variability",
     "Percentage of the trace time with abnormal short-term variability (beat-to-beat variation "
     "under 1 bpm).",
     FeatureKind::kPercentTime, 0, 100, false, false},
    {"mean_value_of_short_term_variability", "mean_value_of_short_term_variability",
     "Mean short-term variability", "bpm", "variability",
     "Mean short-term variability: the average beat-to-beat FHR difference.",
     FeatureKind::kVariability, 0, 50, false, false},
    {"percentage_of_time_with_abnormal_long_term_variability",
     "percentage_of_time_with_abnormal_long_term_variability", "Abnormal long-term variability",
     "%", "variability",
     "Percentage of the trace time with abnormal (reduced) long-term variability, i.e. minutes "
     "whose FHR range is under 5 bpm.",
     FeatureKind::kPercentTime, 0, 100, false, true},
    {"mean_value_of_long_term_variability", "mean_value_of_long_term_variability",
     "Mean long-term variability", "bpm", "variability",
     "Mean long-term variability: the average FHR range (maximum minus minimum) in one-minute "
     "windows.",
     FeatureKind::kVariability, 0, 100, false, true},
    {"histogram_width", "histogram_width", "Histogram width", "bpm", "histogram",
     "Width of the FHR histogram: histogram maximum minus histogram minimum.",
     FeatureKind::kHeartRate, 0, kMaxHistogramWidth, false, false},
    {"histogram_min", "histogram_min", "Histogram minimum", "bpm", "histogram",
     "Lowest FHR in the trace's histogram.", FeatureKind::kHeartRate, kMinHeartRate, kMaxHeartRate,
     false, false},
    {"histogram_max", "histogram_max", "Histogram maximum", "bpm", "histogram",
     "Highest FHR in the trace's histogram.", FeatureKind::kHeartRate, kMinHeartRate, kMaxHeartRate,
     false, false},
    {"histogram_number_of_peaks", "histogram_number_of_peaks", "Histogram peaks", "count",
     "histogram", "Number of peaks in the FHR histogram.", FeatureKind::kCount, 0, 100, true, true},
    {"histogram_number_of_zeroes", "histogram_number_of_zeroes", "Histogram zeroes", "count",
     "histogram", "Number of empty bins (zeroes) inside the FHR histogram.", FeatureKind::kCount, 0,
     100, true, true},
    {"histogram_mode", "histogram_mode", "Histogram mode", "bpm", "histogram",
     "Most frequent FHR in the histogram.", FeatureKind::kHeartRate, kMinHeartRate, kMaxHeartRate,
     false, false},
    {"histogram_mean", "histogram_mean", "Histogram mean", "bpm", "histogram",
     "Mean FHR of the histogram.", FeatureKind::kHeartRate, kMinHeartRate, kMaxHeartRate, false,
     false},
    {"histogram_median", "histogram_median", "Histogram median", "bpm", "histogram",
     "Median FHR of the histogram.", FeatureKind::kHeartRate, kMinHeartRate, kMaxHeartRate, false,
     false},
    {"histogram_variance", "histogram_variance", "Histogram variance", "bpm²", "histogram",
     "Variance of the FHR histogram.", FeatureKind::kVariance, 0, kMaxVariance, false, true},
    {"histogram_tendency", "histogram_tendency", "Histogram tendency", "", "histogram",
     "Histogram asymmetry: −1 left-skewed, 0 symmetric, 1 right-skewed.", FeatureKind::kTendency,
     -1, 1, true, false},
}};

}  // namespace

const std::array<FeatureSpec, kNumFeatures>& FeatureSchema() { return kSchema; }

int FeatureIndex(std::string_view name_or_key) {
  for (int i = 0; i < kNumFeatures; ++i) {
    if (kSchema[i].name == name_or_key || kSchema[i].key == name_or_key) return i;
  }
  return -1;
}

}  // namespace fetal
