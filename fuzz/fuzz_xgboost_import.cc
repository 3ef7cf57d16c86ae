// Fuzzes the XGBoost JSON model importer (fetal::ImportXgboostJson) with arbitrary text.
//
// Promises checked (bundle.h): any text gives a Status with a message, never a crash (the
// library is exception-free: a throw from the JSON parser escaping here is a bug); an imported
// model can be compiled and evaluated, and its trees are structurally valid (no child index out
// of range, no cycle, no bad feature index), which is what the evaluator relies on.
#include <cstdint>
#include <memory>
#include <string>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/model.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(reinterpret_cast<const char*>(data), size);
  fetal::Model model;
  fetal::Status s = fetal::ImportXgboostJson(json, &model);
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), "a rejected model gets a message saying why");
    return 0;
  }
  for (const fetal::Tree& tree : model.trees) {
    FUZZ_CHECK(tree.right.size() == tree.size() && tree.feature.size() == tree.size() &&
                   tree.value.size() == tree.size() && tree.default_left.size() == tree.size(),
               "imported tree arrays have one entry per node");
    FUZZ_CHECK(tree.target_class >= 0 && tree.target_class < fetal::kNumClasses,
               "imported tree adds to a class that exists");
  }
  std::unique_ptr<fetal::Evaluator> evaluator;
  s = fetal::Evaluator::Create(model, &evaluator);
  FUZZ_CHECK(s.ok(), "an imported model must compile into an Evaluator");
  const float exam[fetal::kNumFeatures] = {120, 0,  0,   0, 0, 0,   0,   73,  0.5f, 43, 2.4f,
                                           64,  62, 126, 2, 0, 120, 137, 121, 73,   1};
  float probabilities[fetal::kNumClasses];
  evaluator->PredictRaw(exam, probabilities);
  return 0;
}
