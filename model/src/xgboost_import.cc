// Import of an XGBoost 1.7 JSON model (gbtree booster, multi:softprob / multi:softmax).
//
// Layout read (XGBoost 1.7.4):
//   learner.learner_model_param.{base_score: "5E-1", num_class: "3", num_feature: "21"}
//   learner.objective.name
//   learner.gradient_booster.{name: "gbtree", model.{tree_info[i], trees[i]}}
//   trees[i]: struct-of-arrays left_children, right_children, split_indices, split_conditions
//   (the leaf value at a leaf), default_left, sum_hessian (the cover), split_type.
// XGBoost 1.7 adds base_score to every class margin as is (it is already a margin for softprob).
// Nodes are renumbered breadth-first from the root, dropping any that are unreachable (deleted
// by pruning), so the imported trees satisfy CheckModel().
#include <cmath>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "fetal/bundle.h"

namespace fetal {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& path, const std::string& expected) {
  return Status::InvalidArgument("XGBoost model: '" + path + "' must be " + expected, path);
}

const Json* Find(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// XGBoost writes most scalar parameters as strings ("5E-1", "3"); accept numbers too.
bool ParseNumber(const Json* v, double* out) {
  if (!v) return false;
  if (v->is_number()) {
    *out = v->get<double>();
    return true;
  }
  if (!v->is_string()) return false;
  const std::string& s = v->get_ref<const std::string&>();
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// An array of n numbers (or booleans, for default_left) as doubles.
bool NumberArray(const Json* v, size_t n, std::vector<double>* out) {
  if (!v || !v->is_array() || v->size() != n) return false;
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Json& e = (*v)[i];
    if (e.is_number()) {
      (*out)[i] = e.get<double>();
    } else if (e.is_boolean()) {
      (*out)[i] = e.get<bool>() ? 1 : 0;
    } else {
      return false;
    }
  }
  return true;
}

Status ImportTree(const Json& json, const std::string& path, int target_class, Tree* tree) {
  const Json* left_json = Find(json, "left_children");
  if (!left_json || !left_json->is_array() || left_json->empty()) {
    return Bad(path + ".left_children", "a non-empty array of integers");
  }
  const size_t n = left_json->size();
  const std::string of_n = "an array of " + std::to_string(n) + " numbers";
  std::vector<double> left, right, feature, value, default_left, cover, split_type;
  if (!NumberArray(left_json, n, &left)) return Bad(path + ".left_children", of_n);
  if (!NumberArray(Find(json, "right_children"), n, &right)) {
    return Bad(path + ".right_children", of_n);
  }
  if (!NumberArray(Find(json, "split_indices"), n, &feature)) {
    return Bad(path + ".split_indices", of_n);
  }
  if (!NumberArray(Find(json, "split_conditions"), n, &value)) {
    return Bad(path + ".split_conditions", of_n);
  }
  if (!NumberArray(Find(json, "default_left"), n, &default_left)) {
    return Bad(path + ".default_left", of_n);
  }
  if (!NumberArray(Find(json, "sum_hessian"), n, &cover)) {
    return Bad(path + ".sum_hessian", of_n);
  }
  if (const Json* types = Find(json, "split_type")) {
    if (!NumberArray(types, n, &split_type)) return Bad(path + ".split_type", of_n);
    for (size_t i = 0; i < n; ++i) {
      if (split_type[i] != 0 && left[i] >= 0) {
        return Status::Unsupported("XGBoost model: " + path + " node " + std::to_string(i) +
                                   " is a categorical split; only numerical splits are supported");
      }
    }
  }

  // Breadth-first renumbering; `visited` guards against cycles in a malformed file.
  std::vector<int32_t> order = {0};
  std::vector<uint8_t> visited(n, 0);
  visited[0] = 1;
  for (size_t i = 0; i < order.size(); ++i) {
    const int32_t node = order[i];
    if (left[node] < 0 && right[node] < 0) continue;
    for (double child : {left[node], right[node]}) {
      if (!(child >= 0 && child < double(n)) || child != std::floor(child) ||
          visited[size_t(child)]) {
        return Status::InvalidArgument("XGBoost model: " + path + " node " + std::to_string(node) +
                                           " has a bad child index " + std::to_string(child),
                                       path);
      }
      visited[size_t(child)] = 1;
      order.push_back(int32_t(child));
    }
  }
  const size_t m = order.size();
  tree->target_class = target_class;
  tree->left.assign(m, -1);
  tree->right.assign(m, -1);
  tree->feature.assign(m, 0);
  tree->value.resize(m);
  tree->default_left.assign(m, 0);
  tree->cover.resize(m);
  size_t next_child = 1;
  for (size_t i = 0; i < m; ++i) {
    const int32_t node = order[i];
    tree->value[i] = float(value[node]);
    tree->cover[i] = float(cover[node]);
    if (left[node] < 0) continue;
    if (!(feature[node] >= 0 && feature[node] < kNumFeatures)) {
      return Status::InvalidArgument("XGBoost model: " + path + " node " + std::to_string(node) +
                                         " splits on feature " + std::to_string(feature[node]) +
                                         "; the model must have " + std::to_string(kNumFeatures) +
                                         " features",
                                     path);
    }
    tree->left[i] = int32_t(next_child);
    tree->right[i] = int32_t(next_child + 1);
    next_child += 2;
    tree->feature[i] = int32_t(feature[node]);
    tree->default_left[i] = default_left[node] != 0 ? 1 : 0;
  }
  return Status::Ok();
}

}  // namespace

Status ImportXgboostJson(const std::string& json_text, Model* out) {
  const Json root = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Status::InvalidArgument(
        "XGBoost model is not valid JSON (expected the output of "
        "save_model with a .json file name)");
  }
  const Json* learner = Find(root, "learner");
  if (!learner || !learner->is_object()) return Bad("learner", "an object");

  const Json* objective = Find(*learner, "objective");
  const Json* objective_name = objective ? Find(*objective, "name") : nullptr;
  if (!objective_name || !objective_name->is_string()) {
    return Bad("learner.objective.name", "a string");
  }
  const std::string& name = objective_name->get_ref<const std::string&>();
  if (name != "multi:softprob" && name != "multi:softmax") {
    return Status::Unsupported("XGBoost model: objective is '" + name +
                               "'; expected multi:softprob or multi:softmax");
  }

  const Json* params = Find(*learner, "learner_model_param");
  double base_score = 0, num_class = 0, num_feature = 0;
  if (!params || !ParseNumber(Find(*params, "base_score"), &base_score) ||
      !std::isfinite(base_score)) {
    return Bad("learner.learner_model_param.base_score", "a number (e.g. \"5E-1\")");
  }
  if (!ParseNumber(Find(*params, "num_class"), &num_class)) {
    return Bad("learner.learner_model_param.num_class", "a number");
  }
  if (num_class != kNumClasses) {
    return Status::InvalidArgument("XGBoost model has num_class " + std::to_string(num_class) +
                                       "; expected " + std::to_string(kNumClasses),
                                   "learner.learner_model_param.num_class");
  }
  if (ParseNumber(Find(*params, "num_feature"), &num_feature) && num_feature != kNumFeatures) {
    return Status::InvalidArgument("XGBoost model has num_feature " + std::to_string(num_feature) +
                                       "; expected " + std::to_string(kNumFeatures),
                                   "learner.learner_model_param.num_feature");
  }

  const Json* booster = Find(*learner, "gradient_booster");
  const Json* booster_name = booster ? Find(*booster, "name") : nullptr;
  if (!booster_name || !booster_name->is_string()) {
    return Bad("learner.gradient_booster.name", "a string");
  }
  if (booster_name->get_ref<const std::string&>() != "gbtree") {
    return Status::Unsupported("XGBoost model: booster is '" + booster_name->get<std::string>() +
                               "'; only gbtree is supported");
  }
  const Json* model = Find(*booster, "model");
  const Json* trees = model ? Find(*model, "trees") : nullptr;
  const Json* tree_info = model ? Find(*model, "tree_info") : nullptr;
  if (!trees || !trees->is_array() || trees->empty()) {
    return Bad("learner.gradient_booster.model.trees", "a non-empty array");
  }
  std::vector<double> classes;
  if (!NumberArray(tree_info, trees->size(), &classes)) {
    return Bad("learner.gradient_booster.model.tree_info",
               "an array of " + std::to_string(trees->size()) + " class indices");
  }

  std::vector<Tree> imported(trees->size());
  for (size_t i = 0; i < trees->size(); ++i) {
    const std::string path = "learner.gradient_booster.model.trees[" + std::to_string(i) + "]";
    if (!(classes[i] >= 0 && classes[i] < kNumClasses)) {
      return Status::InvalidArgument("XGBoost model: tree_info[" + std::to_string(i) +
                                         "] is not a class in 0.." +
                                         std::to_string(kNumClasses - 1),
                                     "learner.gradient_booster.model.tree_info");
    }
    Status s = ImportTree((*trees)[i], path, int(classes[i]), &imported[i]);
    if (!s.ok()) return s;
  }
  // The same structural checks a bundle gets, so a model too large for the bundle format (say a
  // tree of more than 65,535 nodes) is refused here, with the tree named.
  Model check;
  check.trees = std::move(imported);
  check.base_score.fill(float(base_score));
  Status s = CheckModel(check);
  if (!s.ok()) return Status::Unsupported("XGBoost model: " + s.message());
  out->trees = std::move(check.trees);
  out->base_score = check.base_score;
  return Status::Ok();
}

}  // namespace fetal
