// Model: the in-memory form of a model bundle (see docs/bundle-format.md).
//
// Plain data. Trees are stored as flat struct-of-arrays, in XGBoost's own node numbering
// (node 0 is the root of each tree). The evaluator compiles this into its fast layout once.
// CheckModel() states what a usable Model is; everything that reads one assumes it passed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fetal/schema.h"
#include "fetal/status.h"

namespace fetal {

// The bundle stores each tree's node count as a u16.
inline constexpr size_t kMaxNodesPerTree = 65535;

// One regression tree of a multi:softprob booster.
struct Tree {
  int32_t target_class = 0;           // which class margin the tree adds to
  std::vector<int32_t> left;          // left child index, -1 at a leaf
  std::vector<int32_t> right;         // right child index, -1 at a leaf
  std::vector<int32_t> feature;       // split feature index (meaningless at a leaf)
  std::vector<float> value;           // split threshold (x < value goes left) or leaf value
  std::vector<uint8_t> default_left;  // 1 if a missing (NaN) value goes left
  std::vector<float> cover;           // sum of hessians reaching the node (TreeSHAP weights)

  size_t size() const { return left.size(); }
  bool is_leaf(size_t node) const { return left[node] < 0; }
};

// Per-feature min/max over the training data (after de-duplication).
struct TrainingRange {
  std::array<float, kNumFeatures> min{};
  std::array<float, kNumFeatures> max{};
};

// Mahalanobis reference for out-of-distribution detection (see ood.h).
struct OodReference {
  std::array<double, kNumFeatures> mean{};   // of the transformed features (before scaling)
  std::array<double, kNumFeatures> scale{};  // standard deviation used to standardize
  std::vector<double> inverse_covariance;    // kNumFeatures*kNumFeatures, row-major
  double threshold = 0;                      // distance above which an exam is flagged
  double threshold_quantile = 0.99;          // the training quantile `threshold` came from
};

// Cross-validated metrics recorded in the bundle (means over the published splits).
struct ModelMetrics {
  double accuracy = 0, macro_f1 = 0, balanced_accuracy = 0, log_loss = 0, brier = 0, ece = 0;
  std::array<double, kNumClasses> recall{};
  int splits = 0;  // 0 if not cross-validated (e.g. an imported model)
};

// The model's inputs are the 21 features in schema order, except that input `input` may be
// re-expressed relative to another feature: input = feature[input] - feature[reference]
// (float32 subtraction). The trees split on the inputs, TreeSHAP attributes to them, and the
// validator, OOD check and FIGO rules keep reading the features themselves. Used to put the
// histogram mean relative to the baseline (the trees cannot split on a difference of two
// features otherwise). No feature is both an input re-expressed and a reference.
struct InputDifference {
  int32_t input = 0;
  int32_t reference = 0;
};

// Class-conditional (Mondrian) conformal prediction sets, calibrated by the trainer on
// out-of-fold calibrated probabilities (docs/training.md). Class c is in an exam's set when its
// calibrated probability p_c >= floor[c]; the predicted class is always in it. For every class c,
// an exam of class c exchangeable with the calibration exams of class c then has c in its set
// with probability >= level.
struct ConformalSets {
  double level = 0;                                     // 0: the model carries no sets
  std::array<float, kNumClasses> floor{};               // per class, in [0, 1]
  std::array<int64_t, kNumClasses> calibration_rows{};  // class counts the floors came from
};

struct Model {
  int32_t format_version = 2;         // bundle format version it was read from / written as
  int64_t model_version = 1;          // registry version; browsers refuse going backwards
  std::string name = "fetal-health";  // human label
  std::string created;                // ISO 8601 UTC, e.g. "2026-11-28T00:00:00Z"
  std::string training_data_sha256;   // hex SHA-256 of the training CSV bytes
  std::string figo_ruleset;           // version of the FIGO rule layer it was validated with
  std::string source;                 // "fetal-model train" or "xgboost-import"
  std::string params_json;            // training parameters, as a JSON object text
  std::vector<InputDifference> input_differences;  // empty: the inputs are the features
  std::array<float, kNumClasses> base_score{};     // margin offset per class
  double temperature = 1.0;  // calibrated probabilities = softmax(margin / temperature)
  TrainingRange training_range;
  OodReference ood;
  ModelMetrics metrics;
  ConformalSets conformal;
  // The optional "monitoring" section's JSON object text (fetal/monitoring_reference.h),
  // written as is by WriteBundle. ReadBundle skips the section (nothing that classifies reads
  // it; the server reads it from the bundle bytes), so it is empty after a read.
  std::string monitoring_section;
  std::vector<Tree> trees;
};

// The conformal set of one exam's calibrated probabilities (kNumClasses floats): bit c is set when
// class c is in it. Holds the most probable class (ties to the lower class) and every class whose
// probability reaches its floor. 0 when `sets.level` is 0.
unsigned PredictionSet(const ConformalSets& sets, const float* probabilities);

// A model's inputs for one exam: `features` with `differences` (Model::input_differences)
// applied. Both point to kNumFeatures floats; they may be the same array.
// Precondition: CheckInputDifferences(differences) is ok.
void ModelInputs(const std::vector<InputDifference>& differences, const float* features,
                 float* inputs);

// InvalidArgument unless every difference names two distinct features in range, no input is
// re-expressed twice and no reference is itself re-expressed.
Status CheckInputDifferences(const std::vector<InputDifference>& differences);

// Structural checks shared by ReadBundle, the importers, the trainer, Evaluator and Explainer:
// every tree has 1..kMaxNodesPerTree nodes, matching node arrays, a class in 0..2, finite values
// and covers >= 0, splits with two children on a feature in range, every node reachable from
// the root exactly once (no cycles, no shared subtrees); finite base score, training range, OOD
// reference (0 or 21x21 inverse covariance) and metrics; temperature > 0; params a JSON object;
// input differences on distinct features in range, no reference itself re-expressed; conformal
// level 0 or in (0, 1) with floors in [0, 1].
Status CheckModel(const Model& model);

// Splits on the tree's longest root-to-leaf path (0 for a lone leaf).
// Precondition: the tree passes CheckModel's tree rules (children in range, no cycles).
int TreeDepth(const Tree& tree);

}  // namespace fetal
