// A small, valid model built by hand (no training): the bundle seed of the fuzz corpora and the
// model the HTTP harness registers. Built from code rather than read from a committed file, so
// it always has the current bundle layout.
#pragma once

#include <algorithm>
#include <string>

#include "fetal/figo.h"
#include "fetal/model.h"
#include "fetal/schema.h"

namespace fetal_fuzz {

// A stump on `feature` plus, for class 2, a second level, so the corpus has both shapes.
inline fetal::Tree Stump(int target_class, int feature, float threshold, float left, float right) {
  fetal::Tree t;
  t.target_class = target_class;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {feature, 0, 0};
  t.value = {threshold, left, right};
  t.default_left = {1, 0, 0};
  t.cover = {100, 60, 40};
  return t;
}

inline fetal::Model TinyModel() {
  fetal::Model m;
  m.model_version = 1;
  m.name = "fuzz-seed";
  m.created = "2026-11-28T00:00:00Z";
  m.training_data_sha256 = std::string(64, '0');
  m.figo_ruleset = fetal::kFigoRuleSetVersion;
  m.source = "fuzz/make_seeds";
  m.params_json = "{\"max_depth\":2}";
  m.base_score = {0.5f, 0.5f, 0.5f};
  m.temperature = 1.1;
  const auto& schema = fetal::FeatureSchema();
  for (int i = 0; i < fetal::kNumFeatures; ++i) {
    m.training_range.min[i] = static_cast<float>(schema[i].hard_min);
    m.training_range.max[i] = static_cast<float>(std::min(schema[i].hard_max, 1e6));
    m.ood.mean[i] = 0;
    m.ood.scale[i] = 1;
  }
  m.ood.inverse_covariance.assign(fetal::kNumFeatures * fetal::kNumFeatures, 0.0);
  for (int i = 0; i < fetal::kNumFeatures; ++i) {
    m.ood.inverse_covariance[i * fetal::kNumFeatures + i] = 1.0;
  }
  m.ood.threshold = 6.5;
  m.metrics.accuracy = 0.9;
  m.metrics.splits = 0;
  m.trees.push_back(Stump(0, 7, 60.5f, 0.4f, -0.3f));    // abnormal short-term variability
  m.trees.push_back(Stump(1, 0, 150.5f, -0.2f, 0.3f));   // baseline value
  m.trees.push_back(Stump(2, 6, 0.0005f, -0.5f, 0.6f));  // prolonged decelerations
  fetal::Tree deeper;
  deeper.target_class = 2;
  deeper.left = {1, 3, -1, -1, -1};
  deeper.right = {2, 4, -1, -1, -1};
  deeper.feature = {9, 17, 0, 0, 0};
  deeper.value = {20.5f, 130.5f, 0.2f, -0.1f, 0.05f};
  deeper.default_left = {0, 1, 0, 0, 0};
  deeper.cover = {100, 70, 30, 40, 30};
  m.trees.push_back(deeper);
  return m;
}

}  // namespace fetal_fuzz
