// Fuzzes the model bundle loader (fetal::ReadBundle) with arbitrary bytes.
//
// Promises checked (bundle.h): any input gives a Status with a message, never a crash, hang or
// sanitizer report; whatever is accepted passes CheckModel, can be compiled by the Evaluator and
// the Explainer and evaluated on any exam, and survives a WriteBundle/ReadBundle round trip
// byte for byte (WriteBundle is deterministic).
//
// A mutated bundle almost never carries the right trailing SHA-256, so each input is also tried
// with its last 32 bytes replaced by the hash of the rest: that is what lets the fuzzer reach
// the header and tree parsers behind the hash check.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/model.h"
#include "fetal/ood.h"
#include "fetal/sha256.h"
#include "fuzz_check.h"

namespace {

// One row of the dataset (Normal) and the same row with every value missing.
const float kTypicalExam[fetal::kNumFeatures] = {120, 0,  0,   0, 0, 0,   0,   73,  0.5f, 43, 2.4f,
                                                 64,  62, 126, 2, 0, 120, 137, 121, 73,   1};

void ExerciseModel(const fetal::Model& model) {
  std::unique_ptr<fetal::Evaluator> evaluator;
  fetal::Status s = fetal::Evaluator::Create(model, &evaluator);
  FUZZ_CHECK(s.ok(), "an accepted bundle must compile into an Evaluator");
  float missing[fetal::kNumFeatures];
  for (float& x : missing) x = std::numeric_limits<float>::quiet_NaN();
  float probabilities[fetal::kNumClasses];
  evaluator->Predict(kTypicalExam, probabilities);
  evaluator->PredictRaw(missing, probabilities);
  float batch_in[2 * fetal::kNumFeatures];
  std::memcpy(batch_in, kTypicalExam, sizeof(kTypicalExam));
  std::memcpy(batch_in + fetal::kNumFeatures, missing, sizeof(missing));
  float batch_out[2 * fetal::kNumClasses];
  evaluator->PredictBatch(batch_in, 2, batch_out);
  (void)fetal::ArgMax(batch_out);

  std::unique_ptr<fetal::Explainer> explainer;
  s = fetal::Explainer::Create(model, &explainer);
  FUZZ_CHECK(s.ok(), "an accepted bundle must compile into an Explainer");
  float contributions[fetal::kNumClasses * fetal::kContributionsPerClass];
  explainer->Explain(kTypicalExam, contributions);
  explainer->Explain(missing, contributions);

  // CheckOod's precondition is a fitted reference; only exercise it when the bundle carries one.
  if (model.ood.inverse_covariance.size() ==
      static_cast<size_t>(fetal::kNumFeatures) * fetal::kNumFeatures) {
    fetal::OodResult ood = fetal::CheckOod(model, kTypicalExam);
    for (int feature : ood.out_of_range) {
      FUZZ_CHECK(feature >= 0 && feature < fetal::kNumFeatures, "out_of_range index in range");
    }
  }
}

void LoadAndCheck(const uint8_t* data, size_t size) {
  fetal::Model model;
  fetal::Status s = fetal::ReadBundle(data, size, &model);
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), "a rejected bundle gets a message saying why");
    return;
  }
  FUZZ_CHECK(fetal::CheckModel(model).ok(), "ReadBundle accepts only models CheckModel accepts");
  FUZZ_CHECK(fetal::BundleContentHash(data, size).size() == 64, "content hash is 64 hex digits");
  ExerciseModel(model);

  std::vector<uint8_t> written = fetal::WriteBundle(model);
  fetal::Model reread;
  s = fetal::ReadBundle(written.data(), written.size(), &reread);
  FUZZ_CHECK(s.ok(), "WriteBundle of an accepted model must be readable again");
  FUZZ_CHECK(fetal::WriteBundle(reread) == written, "bundle round trip is byte-identical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LoadAndCheck(data, size);
  constexpr size_t kHashSize = 32;
  if (size < kHashSize) return 0;
  std::vector<uint8_t> rehashed(data, data + size);
  const auto digest = fetal::Sha256Digest(rehashed.data(), size - kHashSize);
  std::memcpy(rehashed.data() + size - kHashSize, digest.data(), kHashSize);
  LoadAndCheck(rehashed.data(), rehashed.size());
  return 0;
}
