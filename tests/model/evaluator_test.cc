#include "fetal/evaluator.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "test_models.h"

namespace fetal {
namespace {

using testing::RandomExams;
using testing::RandomModel;
using testing::ReferenceMargins;
using testing::Stump;

std::unique_ptr<Evaluator> Compile(const Model& m) {
  std::unique_ptr<Evaluator> e;
  Status s = Evaluator::Create(m, &e);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return e;
}

Model StumpModel(bool default_left) {
  Model m;
  m.base_score = {0.5f, 0.5f, 0.5f};
  m.trees = {Stump(2, 0.25f, -1.0f, 2.0f, default_left, 1)};
  return m;
}

float Class1Margin(const Evaluator& e, float x2) {
  std::vector<float> x(kNumFeatures, 0.0f);
  x[2] = x2;
  float margins[kNumClasses];
  e.Margins(x.data(), margins);
  return margins[1];
}

TEST(EvaluatorTest, LessThanThresholdGoesLeftEqualGoesRight) {
  auto e = Compile(StumpModel(true));
  EXPECT_EQ(Class1Margin(*e, 0.2499f), 0.5f - 1.0f);
  EXPECT_EQ(Class1Margin(*e, 0.25f), 0.5f + 2.0f);
  EXPECT_EQ(Class1Margin(*e, std::nextafter(0.25f, 0.0f)), 0.5f - 1.0f);
  EXPECT_EQ(Class1Margin(*e, -std::numeric_limits<float>::infinity()), 0.5f - 1.0f);
  EXPECT_EQ(Class1Margin(*e, std::numeric_limits<float>::infinity()), 0.5f + 2.0f);
}

TEST(EvaluatorTest, MissingValueGoesToTheDefaultChild) {
  EXPECT_EQ(Class1Margin(*Compile(StumpModel(true)), NAN), 0.5f - 1.0f);
  EXPECT_EQ(Class1Margin(*Compile(StumpModel(false)), NAN), 0.5f + 2.0f);
}

TEST(EvaluatorTest, OtherClassesGetOnlyTheBaseScore) {
  auto e = Compile(StumpModel(true));
  std::vector<float> x(kNumFeatures, 1.0f);
  float margins[kNumClasses];
  e->Margins(x.data(), margins);
  EXPECT_EQ(margins[0], 0.5f);
  EXPECT_EQ(margins[2], 0.5f);
}

// Random models cover unbalanced trees (leaves at every depth, padded by the compiler),
// repeated features on a path, ties with thresholds and missing values.
void ExpectMatchesReference(const Model& m, uint32_t seed) {
  auto e = Compile(m);
  const size_t n = 500;
  const std::vector<float> x = RandomExams(seed, n);
  for (size_t r = 0; r < n; ++r) {
    double expected[kNumClasses];
    ReferenceMargins(m, &x[r * kNumFeatures], expected);
    float margins[kNumClasses];
    e->Margins(&x[r * kNumFeatures], margins);
    for (int c = 0; c < kNumClasses; ++c) {
      ASSERT_NEAR(margins[c], expected[c], 1e-4) << "row " << r << " class " << c;
    }
  }
}

TEST(EvaluatorTest, MatchesReferenceOnShallowUnbalancedTrees) {
  ExpectMatchesReference(RandomModel(1, 50, 3), 11);
  ExpectMatchesReference(RandomModel(2, 50, 6), 12);
}

TEST(EvaluatorTest, MatchesReferenceOnTreesTooDeepForTheCompleteLayout) {
  // Depth 14 exceeds the complete-tree layout, so these go through the node walk; mixing
  // them with shallow trees checks that both kinds add into the right margins.
  Model deep = RandomModel(3, 10, 14);
  Model shallow = RandomModel(4, 10, 2);
  deep.trees.insert(deep.trees.end(), shallow.trees.begin(), shallow.trees.end());
  ExpectMatchesReference(deep, 13);
}

TEST(EvaluatorTest, SingleLeafTreesAddAConstant) {
  Model m;
  const Tree leaf = testing::Leaf(0.75f, 2);
  m.trees = {leaf, leaf};
  auto e = Compile(m);
  std::vector<float> x(kNumFeatures, NAN);
  float margins[kNumClasses];
  e->Margins(x.data(), margins);
  EXPECT_EQ(margins[2], 1.5f);
  EXPECT_EQ(margins[0], 0.0f);
}

TEST(EvaluatorTest, BatchEqualsSingleForEveryBatchSize) {
  // Depths 2..9 cover every table size of the vectorized paths (the deep tables at 7 and 8) and
  // the scalar fallback.
  for (int depth = 2; depth <= 9; ++depth) {
    const Model m = RandomModel(5 + depth, 40, depth);
    auto e = Compile(m);
    const std::vector<float> x = RandomExams(6, 300);
    for (size_t n : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(65), size_t(300)}) {
      std::vector<float> batch(n * kNumClasses + 1, -7.0f), raw(n * kNumClasses + 1, -7.0f);
      e->PredictBatch(x.data(), n, batch.data());
      e->PredictBatchRaw(x.data(), n, raw.data());
      EXPECT_EQ(batch.back(), -7.0f) << "wrote past the end, n = " << n;
      EXPECT_EQ(raw.back(), -7.0f) << "wrote past the end, n = " << n;
      for (size_t r = 0; r < n; ++r) {
        float single[kNumClasses], single_raw[kNumClasses];
        e->Predict(&x[r * kNumFeatures], single);
        e->PredictRaw(&x[r * kNumFeatures], single_raw);
        for (int c = 0; c < kNumClasses; ++c) {
          ASSERT_EQ(batch[r * kNumClasses + c], single[c]) << "n " << n << " row " << r;
          ASSERT_EQ(raw[r * kNumClasses + c], single_raw[c]) << "n " << n << " row " << r;
        }
        double expected[kNumClasses];
        ReferenceMargins(m, &x[r * kNumFeatures], expected);
        float margins[kNumClasses];
        e->Margins(&x[r * kNumFeatures], margins);
        for (int c = 0; c < kNumClasses; ++c) ASSERT_NEAR(margins[c], expected[c], 1e-4);
      }
    }
  }
}

TEST(EvaluatorTest, ProbabilitiesAreSoftmaxOfMarginsWithTemperature) {
  Model m = RandomModel(7, 30, 4);
  m.temperature = 1.8;
  auto e = Compile(m);
  EXPECT_EQ(e->temperature(), 1.8);
  const std::vector<float> x = RandomExams(8, 50);
  for (size_t r = 0; r < 50; ++r) {
    const float* row = &x[r * kNumFeatures];
    float margins[kNumClasses], p[kNumClasses], raw[kNumClasses];
    e->Margins(row, margins);
    e->Predict(row, p);
    e->PredictRaw(row, raw);
    double z = 0, z_raw = 0;
    for (int c = 0; c < kNumClasses; ++c) {
      z += std::exp(margins[c] / 1.8);
      z_raw += std::exp(double(margins[c]));
    }
    double sum = 0;
    for (int c = 0; c < kNumClasses; ++c) {
      EXPECT_NEAR(p[c], std::exp(margins[c] / 1.8) / z, 1e-6);
      EXPECT_NEAR(raw[c], std::exp(double(margins[c])) / z_raw, 1e-6);
      sum += p[c];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(EvaluatorTest, SoftmaxDoesNotOverflowOnLargeMargins) {
  Model m;
  m.base_score = {500.0f, 480.0f, -500.0f};
  m.trees = {Stump(0, 0.0f, 0.0f, 0.0f, true)};
  auto e = Compile(m);
  std::vector<float> x(kNumFeatures, 0.0f);
  float p[kNumClasses];
  e->PredictRaw(x.data(), p);
  EXPECT_NEAR(p[0], 1.0f, 1e-6);
  EXPECT_GT(p[1], 0.0f);
  EXPECT_EQ(p[2], 0.0f);
}

TEST(EvaluatorTest, CreateRejectsAnInvalidModel) {
  Model m = StumpModel(true);
  m.trees[0].feature[0] = 40;
  std::unique_ptr<Evaluator> e;
  Status s = Evaluator::Create(m, &e);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(e, nullptr);
}

TEST(EvaluatorTest, EvaluatorOutlivesTheModelItWasBuiltFrom) {
  std::unique_ptr<Evaluator> e;
  std::vector<float> x = RandomExams(9, 1);
  double expected[kNumClasses];
  {
    Model m = RandomModel(10, 10, 4);
    ReferenceMargins(m, x.data(), expected);
    ASSERT_TRUE(Evaluator::Create(m, &e).ok());
  }
  float margins[kNumClasses];
  e->Margins(x.data(), margins);
  for (int c = 0; c < kNumClasses; ++c) EXPECT_NEAR(margins[c], expected[c], 1e-5);
}

// The evaluator picks a kernel at Create(): AVX-512 where the CPU has it, else portable scalar
// code (FETAL_EVALUATOR_KERNEL=scalar forces it). They must agree exactly.
std::unique_ptr<Evaluator> CompileWithKernel(const Model& m, const char* kernel) {
  setenv("FETAL_EVALUATOR_KERNEL", kernel, 1);
  std::unique_ptr<Evaluator> e = Compile(m);
  unsetenv("FETAL_EVALUATOR_KERNEL");
  return e;
}

TEST(EvaluatorTest, EveryKernelGivesIdenticalResults) {
  // Exams without missing values take other paths than exams with some; test both.
  for (double missing : {0.0, 0.15}) {
    const std::vector<float> x = RandomExams(40, 150, missing);
    const size_t n = 150;
    for (int depth = 0; depth <= 9; ++depth) {
      const Model m = RandomModel(41 + depth, 25, depth);
      std::vector<std::vector<float>> batches, singles;
      for (const char* kernel : {"scalar", "best"}) {
        auto e = CompileWithKernel(m, kernel);
        std::vector<float> batch(n * kNumClasses), single(n * kNumClasses);
        e->PredictBatchRaw(x.data(), n, batch.data());
        for (size_t r = 0; r < n; ++r) e->Margins(&x[r * kNumFeatures], &single[r * kNumClasses]);
        batches.push_back(batch);
        singles.push_back(single);
      }
      for (size_t r = 0; r < n; ++r) {
        double expected[kNumClasses];
        ReferenceMargins(m, &x[r * kNumFeatures], expected);
        for (int c = 0; c < kNumClasses; ++c) {
          ASSERT_NEAR(singles[0][r * kNumClasses + c], expected[c], 1e-4) << "depth " << depth;
        }
      }
      for (size_t k = 1; k < batches.size(); ++k) {
        EXPECT_EQ(batches[k], batches[0]) << "depth " << depth << " kernel " << k;
        EXPECT_EQ(singles[k], singles[0]) << "depth " << depth << " kernel " << k;
      }
    }
  }
}

TEST(ArgMaxTest, PicksTheLargestAndTiesGoToTheLowerClass) {
  const float a[] = {0.2f, 0.5f, 0.3f};
  const float b[] = {0.4f, 0.4f, 0.2f};
  const float c[] = {0.1f, 0.2f, 0.7f};
  EXPECT_EQ(ArgMax(a), 1);
  EXPECT_EQ(ArgMax(b), 0);
  EXPECT_EQ(ArgMax(c), 2);
}

}  // namespace
}  // namespace fetal
