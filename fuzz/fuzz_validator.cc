// Fuzzes the exam validator (fetal::ValidateExam) with arbitrary floats: NaN, infinities,
// denormals, negative zero, huge values, and arbitrary training ranges.
//
// Input layout: 21 floats (the exam), then optionally 42 floats (training min then max).
// Promises checked (validator.h): never fails or crashes; findings name a feature in range, a
// rule and a message, come in feature order; a non-finite value is always an error; IsAcceptable
// agrees with the severities. An acceptable exam meets EvaluateFigo's precondition, so the FIGO
// layer is fuzzed on every acceptable exam too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fetal/figo.h"
#include "fetal/model.h"
#include "fetal/schema.h"
#include "fetal/validator.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kExamBytes = sizeof(float) * fetal::kNumFeatures;
  if (size < kExamBytes) return 0;
  float exam[fetal::kNumFeatures];
  std::memcpy(exam, data, kExamBytes);

  fetal::TrainingRange range;
  const fetal::TrainingRange* training = nullptr;
  if (size >= kExamBytes * 3) {
    std::memcpy(range.min.data(), data + kExamBytes, kExamBytes);
    std::memcpy(range.max.data(), data + 2 * kExamBytes, kExamBytes);
    training = &range;
  }

  std::vector<fetal::Finding> findings = fetal::ValidateExam(exam, training);
  bool any_error = false;
  int previous_feature = -1;
  for (const fetal::Finding& f : findings) {
    FUZZ_CHECK(f.feature >= 0 && f.feature < fetal::kNumFeatures, "finding names a feature");
    FUZZ_CHECK(f.feature >= previous_feature, "findings come in feature order");
    previous_feature = f.feature;
    FUZZ_CHECK(!f.rule.empty(), "finding has a rule id");
    FUZZ_CHECK(!f.message.empty(), "finding has a message");
    if (f.severity == fetal::Severity::kError) any_error = true;
  }
  FUZZ_CHECK(fetal::IsAcceptable(findings) == !any_error, "IsAcceptable == no error finding");
  for (int i = 0; i < fetal::kNumFeatures; ++i) {
    if (std::isfinite(exam[i])) continue;
    bool reported = false;
    for (const fetal::Finding& f : findings) {
      reported |= f.feature == i && f.severity == fetal::Severity::kError;
    }
    FUZZ_CHECK(reported, "a NaN or infinite value is reported as an error on its feature");
  }

  if (!any_error) {
    fetal::FigoResult figo = fetal::EvaluateFigo(exam);
    int worst = 0;
    for (const fetal::FigoFlag& flag : figo.flags) {
      FUZZ_CHECK(!flag.id.empty() && !flag.message.empty(), "FIGO flag has an id and message");
      FUZZ_CHECK(flag.feature >= 0 && flag.feature < fetal::kNumFeatures, "FIGO flag feature");
      worst = std::max(worst, fetal::FigoClassIndex(flag.level));
    }
    FUZZ_CHECK(fetal::FigoClassIndex(figo.figo_class) == worst, "FIGO class is the worst flag");
  }
  return 0;
}
