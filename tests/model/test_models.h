// Small models built in tests (no training): hand-made trees and seeded random forests, plus a
// straightforward reference walk to compare the evaluator and explainer against.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fetal/model.h"

namespace fetal {
namespace testing {

// A tree that is one leaf: adds `value` to its class whatever the exam.
inline Tree Leaf(float value, int target_class = 0) {
  Tree t;
  t.target_class = target_class;
  t.left = {-1};
  t.right = {-1};
  t.feature = {0};
  t.value = {value};
  t.default_left = {0};
  t.cover = {1};
  return t;
}

// A tree with one split: feature < threshold ? left_value : right_value.
inline Tree Stump(int feature, float threshold, float left_value, float right_value,
                  bool default_left, int target_class = 0, float left_cover = 30,
                  float right_cover = 10) {
  Tree t;
  t.target_class = target_class;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {feature, 0, 0};
  t.value = {threshold, left_value, right_value};
  t.default_left = {uint8_t(default_left ? 1 : 0), 0, 0};
  t.cover = {left_cover + right_cover, left_cover, right_cover};
  return t;
}

// Grows a random tree in breadth-first numbering (the bundle's order). Leaves may appear at
// any depth up to max_depth, features repeat along paths; covers add up like hessian sums.
inline Tree RandomTree(std::mt19937* rng, int max_depth, int num_features, int target_class,
                       double leaf_probability = 0.25) {
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int> feature(0, num_features - 1);
  Tree t;
  t.target_class = target_class;
  struct Pending {
    int node;
    int depth;
    float cover;
  };
  std::vector<Pending> queue = {{0, 0, 100.0f}};
  auto add_node = [&t]() {
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(0);
    t.value.push_back(0);
    t.default_left.push_back(0);
    t.cover.push_back(0);
    return int(t.left.size()) - 1;
  };
  add_node();
  for (size_t q = 0; q < queue.size(); ++q) {
    const Pending p = queue[q];
    t.cover[p.node] = p.cover;
    const bool leaf = p.depth == max_depth || (p.depth > 0 && unit(*rng) < leaf_probability);
    if (leaf) {
      t.value[p.node] = (unit(*rng) - 0.5f) * 0.6f;
      continue;
    }
    t.feature[p.node] = feature(*rng);
    t.value[p.node] = std::round(unit(*rng) * 20.0f) / 10.0f;  // thresholds on a grid: ties occur
    t.default_left[p.node] = unit(*rng) < 0.5f ? 1 : 0;
    const float share = 0.2f + 0.6f * unit(*rng);
    const int l = add_node();
    const int r = add_node();
    t.left[p.node] = l;
    t.right[p.node] = r;
    queue.push_back({l, p.depth + 1, p.cover * share});
    queue.push_back({r, p.depth + 1, p.cover * (1 - share)});
  }
  // As in XGBoost (up to float rounding) and as bundles store it: a split's cover is the sum
  // of its children's. Children come after their parent in this numbering.
  for (size_t i = t.size(); i-- > 0;) {
    if (!t.is_leaf(i)) t.cover[i] = t.cover[t.left[i]] + t.cover[t.right[i]];
  }
  return t;
}

// A model of `rounds` rounds x 3 classes of random trees, with every metadata field filled.
inline Model RandomModel(uint32_t seed, int rounds, int max_depth,
                         int num_features = kNumFeatures) {
  std::mt19937 rng(seed);
  Model m;
  m.model_version = 7;
  m.name = "random test model";
  m.created = "2026-11-28T12:00:00Z";
  m.training_data_sha256 = std::string(64, 'a');
  m.figo_ruleset = "figo-2015.1";
  m.source = "test";
  m.params_json = R"({"eta":0.05,"max_depth":4,"note":"ünïcode"})";
  m.base_score = {0.5f, 0.25f, -0.125f};
  m.temperature = 1.37;
  for (int f = 0; f < kNumFeatures; ++f) {
    m.training_range.min[f] = -1.5f + f;
    m.training_range.max[f] = 100.0f / 3 + f;
    m.ood.mean[f] = 0.1 * f + 1.0 / 3;
    m.ood.scale[f] = 1.0 + f / 7.0;
  }
  m.ood.inverse_covariance.resize(kNumFeatures * kNumFeatures);
  for (size_t i = 0; i < m.ood.inverse_covariance.size(); ++i) {
    m.ood.inverse_covariance[i] = std::sin(double(i)) / 3.0;
  }
  m.ood.threshold = 7.123456789012345;
  m.ood.threshold_quantile = 0.99;
  m.metrics.accuracy = 0.9451;
  m.metrics.macro_f1 = 0.8941;
  m.metrics.balanced_accuracy = 0.88;
  m.metrics.log_loss = 0.169;
  m.metrics.brier = 0.08;
  m.metrics.ece = 0.025;
  m.metrics.recall = {0.98, 0.776, 0.872};
  m.metrics.splits = 25;
  for (int r = 0; r < rounds; ++r) {
    for (int c = 0; c < kNumClasses; ++c)
      m.trees.push_back(RandomTree(&rng, max_depth, num_features, c));
  }
  return m;
}

// Reference semantics, written as plainly as possible: (float)x < threshold goes left,
// NaN goes to the default child.
inline float ReferenceTreeValue(const Tree& t, const float* x) {
  int node = 0;
  while (!t.is_leaf(node)) {
    const float v = x[t.feature[node]];
    const bool left = std::isnan(v) ? t.default_left[node] != 0 : v < t.value[node];
    node = left ? t.left[node] : t.right[node];
  }
  return t.value[node];
}

inline void ReferenceMargins(const Model& m, const float* x, double* margins) {
  for (int c = 0; c < kNumClasses; ++c) margins[c] = m.base_score[c];
  for (const Tree& t : m.trees) margins[t.target_class] += ReferenceTreeValue(t, x);
}

// Random exams with values on the threshold grid (so x == threshold happens), some NaN.
inline std::vector<float> RandomExams(uint32_t seed, size_t n, double missing_probability = 0.1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> x(n * kNumFeatures);
  for (float& v : x) {
    const float u = unit(rng);
    if (u < missing_probability) {
      v = NAN;
    } else if (u < 0.5) {
      v = std::round(unit(rng) * 20.0f) / 10.0f;
    } else {
      v = unit(rng) * 2.2f - 0.1f;
    }
  }
  return x;
}

}  // namespace testing
}  // namespace fetal
