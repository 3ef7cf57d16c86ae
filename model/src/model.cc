// The structural rules every Model obeys before an evaluator, explainer or writer touches it,
// and the tree measures built on them.
#include "fetal/model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cold.h"
#include "model_check.h"

namespace fetal {
namespace {

bool AllFinite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}
bool AllFinite(const double* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

using Json = nlohmann::json;

// The message of a tree that breaks a rule: "tree T[ node N]<before>[V1]<middle>[V2]<after>"
// (a value is left out when kNoValue). Out of line and cold: built only on failure, and
// inlined string building would cost the size-bound WebAssembly module a few hundred bytes.
constexpr long long kNoValue = std::numeric_limits<long long>::min();
__attribute__((noinline, cold)) Status TreeError(Status::Code code, size_t tree, long long node,
                                                 const char* before, long long v1 = kNoValue,
                                                 const char* middle = "", long long v2 = kNoValue,
                                                 const char* after = "") {
  std::string m = "tree " + std::to_string(tree);
  if (node != kNoValue) m += " node " + std::to_string(node);
  m += before;
  if (v1 != kNoValue) m += std::to_string(v1);
  m += middle;
  if (v2 != kNoValue) m += std::to_string(v2);
  m += after;
  return code == Status::Code::kUnsupported ? Status::Unsupported(m) : Status::Corruption(m);
}

// A function of its own, called per tree, not inlined into CheckModel's loop: the WebAssembly
// engine can then switch to optimized code for it part-way through a cold model load.
__attribute__((noinline)) Status CheckTree(const Tree& tree, size_t index) {
  constexpr Status::Code kCorruption = Status::Code::kCorruption;
  const size_t n = tree.size();
  if (n == 0) return TreeError(kCorruption, index, kNoValue, " has no nodes");
  if (n > kMaxNodesPerTree) {
    return TreeError(Status::Code::kUnsupported, index, kNoValue, " has ", (long long)n,
                     " nodes; at most ", kMaxNodesPerTree, " are supported");
  }
  if (tree.right.size() != n || tree.feature.size() != n || tree.value.size() != n ||
      tree.default_left.size() != n || tree.cover.size() != n) {
    return TreeError(kCorruption, index, kNoValue, ": node arrays differ in length");
  }
  if (tree.target_class < 0 || tree.target_class >= kNumClasses) {
    return TreeError(kCorruption, index, kNoValue, ": target class ", tree.target_class,
                     " is not in 0..", kNumClasses - 1);
  }
  // Every node other than the root must have exactly one parent, and all must be reachable from
  // the root; together that rules out cycles and shared subtrees.
  std::vector<uint8_t> has_parent(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const long long node = (long long)i;
    if (!std::isfinite(tree.value[i])) {
      return TreeError(kCorruption, index, node, ": value is not finite");
    }
    if (!std::isfinite(tree.cover[i]) || tree.cover[i] < 0) {
      return TreeError(kCorruption, index, node, ": cover must be a finite number >= 0");
    }
    const bool left_leaf = tree.left[i] < 0, right_leaf = tree.right[i] < 0;
    if (left_leaf != right_leaf) {
      return TreeError(kCorruption, index, node, ": has one child; split nodes need two");
    }
    if (left_leaf) continue;
    if (tree.feature[i] < 0 || tree.feature[i] >= kNumFeatures) {
      return TreeError(kCorruption, index, node, ": feature index ", tree.feature[i],
                       " is not in 0..", kNumFeatures - 1);
    }
    for (int32_t child : {tree.left[i], tree.right[i]}) {
      if (size_t(child) >= n || child == 0) {
        return TreeError(kCorruption, index, node, ": child index ", child, " is out of range");
      }
      if (has_parent[child]) {
        return TreeError(kCorruption, index, node, ": node ", child, " has more than one parent");
      }
      has_parent[child] = 1;
    }
  }
  std::vector<int32_t> stack = {0};
  size_t reached = 0;
  while (!stack.empty()) {
    int32_t node = stack.back();
    stack.pop_back();
    ++reached;
    if (!tree.is_leaf(node)) {
      stack.push_back(tree.left[node]);
      stack.push_back(tree.right[node]);
    }
  }
  if (reached != n) {
    return TreeError(kCorruption, index, kNoValue, ": ", (long long)(n - reached),
                     " nodes are not reachable from the root");
  }
  return Status::Ok();
}

}  // namespace

// Once per load (the per-tree work is CheckTree).
FETAL_COLD Status internal::CheckModelExceptParams(const Model& model) {
  if (model.trees.empty()) return Status::Corruption("model has no trees");
  if (model.trees.size() > 0xffffffffu) return Status::Unsupported("model has too many trees");
  for (size_t t = 0; t < model.trees.size(); ++t) {
    Status s = CheckTree(model.trees[t], t);
    if (!s.ok()) return s;
  }
  if (!AllFinite(model.base_score.data(), kNumClasses)) {
    return Status::InvalidArgument("base score must be finite", "base_score");
  }
  if (!std::isfinite(model.temperature) || model.temperature <= 0) {
    return Status::InvalidArgument("temperature must be a finite number > 0", "temperature");
  }
  if (!AllFinite(model.training_range.min.data(), kNumFeatures) ||
      !AllFinite(model.training_range.max.data(), kNumFeatures)) {
    return Status::InvalidArgument("training range must be finite", "training_range");
  }
  const OodReference& ood = model.ood;
  if (!ood.inverse_covariance.empty() &&
      ood.inverse_covariance.size() != size_t(kNumFeatures * kNumFeatures)) {
    return Status::InvalidArgument("OOD inverse covariance must hold 0 or 441 values",
                                   "ood.inverse_covariance");
  }
  if (!AllFinite(ood.mean.data(), kNumFeatures) || !AllFinite(ood.scale.data(), kNumFeatures) ||
      !AllFinite(ood.inverse_covariance.data(), ood.inverse_covariance.size()) ||
      !std::isfinite(ood.threshold) || !std::isfinite(ood.threshold_quantile)) {
    return Status::InvalidArgument("OOD reference must be finite", "ood");
  }
  const ModelMetrics& m = model.metrics;
  const double metric_values[] = {m.accuracy, m.macro_f1,  m.balanced_accuracy, m.log_loss, m.brier,
                                  m.ece,      m.recall[0], m.recall[1],         m.recall[2]};
  if (!AllFinite(metric_values, sizeof(metric_values) / sizeof(double))) {
    return Status::InvalidArgument("metrics must be finite", "metrics");
  }
  Status s = CheckInputDifferences(model.input_differences);
  if (!s.ok()) return s;
  const ConformalSets& sets = model.conformal;
  bool sets_ok = sets.level == 0 || (sets.level > 0 && sets.level < 1);
  for (int c = 0; c < kNumClasses; ++c) {
    sets_ok = sets_ok && sets.floor[c] >= 0 && sets.floor[c] <= 1 && sets.calibration_rows[c] >= 0;
  }
  if (!sets_ok) {
    return Status::InvalidArgument("conformal level must be 0 or in (0, 1), floors in [0, 1]",
                                   "conformal");
  }
  return Status::Ok();
}

FETAL_COLD Status CheckModel(const Model& model) {
  Status s = internal::CheckModelExceptParams(model);
  if (!s.ok()) return s;
  if (!model.params_json.empty()) {
    Json params = Json::parse(model.params_json, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      return Status::InvalidArgument("params must be a JSON object", "params_json");
    }
  }
  return Status::Ok();
}

unsigned PredictionSet(const ConformalSets& sets, const float* probabilities) {
  if (sets.level == 0) return 0;
  int top = 0;
  unsigned set = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    if (probabilities[c] > probabilities[top]) top = c;
    if (probabilities[c] >= sets.floor[c]) set |= 1u << c;
  }
  return set | 1u << top;
}

Status CheckInputDifferences(const std::vector<InputDifference>& differences) {
  for (const InputDifference& d : differences) {
    bool ok = d.input >= 0 && d.input < kNumFeatures && d.reference >= 0 &&
              d.reference < kNumFeatures && d.input != d.reference;
    for (const InputDifference& e : differences) {
      ok = ok && (&e == &d || e.input != d.input) && e.input != d.reference;
    }
    if (!ok) {
      return Status::InvalidArgument(
          "input differences must name distinct features, none both re-expressed and a reference",
          "input_differences");
    }
  }
  return Status::Ok();
}

void ModelInputs(const std::vector<InputDifference>& differences, const float* features,
                 float* inputs) {
  if (inputs != features) std::copy(features, features + kNumFeatures, inputs);
  // No reference is itself re-expressed, so the order does not matter and in-place works.
  for (const InputDifference& d : differences) {
    inputs[d.input] = features[d.input] - features[d.reference];
  }
}

int TreeDepth(const Tree& tree) {
  // Iterative: a tree may be thousands of nodes deep (CheckModel allows it), the call stack
  // in WebAssembly is small.
  std::vector<std::pair<int32_t, int>> stack = {{0, 0}};
  int depth = 0;
  while (!stack.empty()) {
    const auto [node, d] = stack.back();
    stack.pop_back();
    if (tree.is_leaf(node)) {
      depth = std::max(depth, d);
    } else {
      stack.push_back({tree.left[node], d + 1});
      stack.push_back({tree.right[node], d + 1});
    }
  }
  return depth;
}

}  // namespace fetal
