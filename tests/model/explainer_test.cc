// The fast Explainer against the definition of SHAP values (brute force over coalitions), the
// reference explainer (libxgboost's recursive TreeSHAP), itself across kernels and threads.
// Parity with libxgboost on trained models is in parity_test.cc.
#include "fetal/explainer.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/reference_explainer.h"
#include "test_models.h"

namespace fetal {
namespace {

using testing::RandomExams;
using testing::RandomModel;
using testing::RandomTree;
using testing::Stump;

std::unique_ptr<Explainer> Compile(const Model& m) {
  std::unique_ptr<Explainer> e;
  Status s = Explainer::Create(m, &e);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return e;
}

// The definition of SHAP values for a tree, computed by brute force: the value of a coalition
// S is the tree's expectation when features in S are known (follow x) and the others are not
// (average both children weighted by cover), and phi_i is the Shapley-weighted sum of marginal
// contributions over all coalitions of the features the tree uses.
double CoalitionValue(const Tree& t, int node, const float* x, unsigned known_mask,
                      const std::vector<int>& features) {
  if (t.is_leaf(node)) return t.value[node];
  const int f = t.feature[node];
  const int bit = int(std::find(features.begin(), features.end(), f) - features.begin());
  if (known_mask & (1u << bit)) {
    const float v = x[f];
    const bool left = std::isnan(v) ? t.default_left[node] != 0 : v < t.value[node];
    return CoalitionValue(t, left ? t.left[node] : t.right[node], x, known_mask, features);
  }
  const int l = t.left[node], r = t.right[node];
  return (t.cover[l] * CoalitionValue(t, l, x, known_mask, features) +
          t.cover[r] * CoalitionValue(t, r, x, known_mask, features)) /
         t.cover[node];
}

std::vector<double> BruteForceShap(const Tree& t, const float* x) {
  std::set<int> used;
  for (size_t n = 0; n < t.size(); ++n) {
    if (!t.is_leaf(n)) used.insert(t.feature[n]);
  }
  const std::vector<int> features(used.begin(), used.end());
  const int m = int(features.size());
  std::vector<double> phi(kContributionsPerClass, 0.0);
  phi[kNumFeatures] = CoalitionValue(t, 0, x, 0, features);
  std::vector<double> factorial(m + 1, 1.0);
  for (int i = 1; i <= m; ++i) factorial[i] = factorial[i - 1] * i;
  for (int i = 0; i < m; ++i) {
    for (unsigned s = 0; s < (1u << m); ++s) {
      if (s & (1u << i)) continue;
      const int size = __builtin_popcount(s);
      const double weight = factorial[size] * factorial[m - size - 1] / factorial[m];
      phi[features[i]] += weight * (CoalitionValue(t, 0, x, s | (1u << i), features) -
                                    CoalitionValue(t, 0, x, s, features));
    }
  }
  return phi;
}

TEST(ExplainerTest, StumpContributionIsLeafMinusExpectation) {
  Model m;
  m.base_score = {0.5f, 0.5f, 0.5f};
  m.trees = {Stump(3, 1.0f, -1.0f, 2.0f, false, 2, 30, 10)};  // expectation: (-30+20)/40
  auto e = Compile(m);
  std::vector<float> x(kNumFeatures, 0.0f);
  float phi[kNumClasses * kContributionsPerClass];
  e->Explain(x.data(), phi);
  const float* c2 = phi + 2 * kContributionsPerClass;
  EXPECT_NEAR(c2[3], -1.0 - (-0.25), 1e-6);
  EXPECT_NEAR(c2[kNumFeatures], 0.5 - 0.25, 1e-6);
  for (int f = 0; f < kNumFeatures; ++f) {
    if (f != 3) {
      EXPECT_EQ(c2[f], 0.0f) << "feature " << f;
    }
  }
  // Classes without trees: only the base score, in the bias column.
  EXPECT_EQ(phi[kNumFeatures], 0.5f);
  EXPECT_EQ(phi[3], 0.0f);
  x[3] = NAN;  // default right
  e->Explain(x.data(), phi);
  EXPECT_NEAR(c2[3], 2.0 - (-0.25), 1e-6);
}

TEST(ExplainerTest, MatchesBruteForceShapleyValuesOnRandomTrees) {
  std::mt19937 rng(77);
  const std::vector<float> x = RandomExams(78, 40, 0.15);
  for (int trial = 0; trial < 60; ++trial) {
    // Few features and depth up to 6: features repeat along paths (the unwind case).
    Model m;
    m.trees = {RandomTree(&rng, 2 + trial % 5, 2 + trial % 6, trial % 3, 0.15)};
    auto e = Compile(m);
    const Tree& t = m.trees[0];
    for (size_t r = 0; r < 40; ++r) {
      const float* row = &x[r * kNumFeatures];
      const std::vector<double> expected = BruteForceShap(t, row);
      float phi[kNumClasses * kContributionsPerClass];
      e->Explain(row, phi);
      const float* mine = phi + t.target_class * kContributionsPerClass;
      for (int j = 0; j < kContributionsPerClass; ++j) {
        ASSERT_NEAR(mine[j], expected[j], 1e-5)
            << "trial " << trial << " row " << r << " column " << j;
      }
    }
  }
}

TEST(ExplainerTest, ContributionsSumToTheMarginOfEveryClass) {
  const Model m = RandomModel(21, 100, 6);
  auto explainer = Compile(m);
  std::unique_ptr<Evaluator> evaluator;
  ASSERT_TRUE(Evaluator::Create(m, &evaluator).ok());
  const std::vector<float> x = RandomExams(22, 200);
  for (size_t r = 0; r < 200; ++r) {
    float phi[kNumClasses * kContributionsPerClass];
    float margins[kNumClasses];
    explainer->Explain(&x[r * kNumFeatures], phi);
    evaluator->Margins(&x[r * kNumFeatures], margins);
    for (int c = 0; c < kNumClasses; ++c) {
      double sum = 0;
      for (int j = 0; j < kContributionsPerClass; ++j) sum += phi[c * kContributionsPerClass + j];
      ASSERT_NEAR(sum, margins[c], 1e-4) << "row " << r << " class " << c;
    }
  }
}

TEST(ExplainerTest, BiasIsTheSameForEveryExam) {
  const Model m = RandomModel(31, 20, 4);
  auto e = Compile(m);
  const std::vector<float> x = RandomExams(32, 2);
  float a[kNumClasses * kContributionsPerClass], b[kNumClasses * kContributionsPerClass];
  e->Explain(&x[0], a);
  e->Explain(&x[kNumFeatures], b);
  for (int c = 0; c < kNumClasses; ++c) {
    EXPECT_EQ(a[c * kContributionsPerClass + kNumFeatures],
              b[c * kContributionsPerClass + kNumFeatures]);
  }
}

// Random exams with the special values a batch can carry: NaN (missing), +-inf and -0.
std::vector<float> SpecialExams(uint32_t seed, size_t n) {
  std::vector<float> x = RandomExams(seed, n, 0.1);
  const float special[] = {std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), -0.0f, 0.0f};
  for (size_t i = 0; i < x.size(); i += 7) x[i] = special[(i / 7) % 4];
  return x;
}

TEST(ExplainerTest, TheReferenceExplainerMatchesBruteForceToo) {
  std::mt19937 rng(5);
  const std::vector<float> x = SpecialExams(6, 20);
  for (int trial = 0; trial < 20; ++trial) {
    Model m;
    m.trees = {RandomTree(&rng, 2 + trial % 5, 2 + trial % 6, trial % 3, 0.15)};
    std::unique_ptr<ReferenceExplainer> e;
    ASSERT_TRUE(ReferenceExplainer::Create(m, &e).ok());
    for (size_t r = 0; r < 20; ++r) {
      const std::vector<double> expected = BruteForceShap(m.trees[0], &x[r * kNumFeatures]);
      float phi[kNumClasses * kContributionsPerClass];
      e->Explain(&x[r * kNumFeatures], phi);
      for (int j = 0; j < kContributionsPerClass; ++j) {
        ASSERT_NEAR(phi[m.trees[0].target_class * kContributionsPerClass + j], expected[j], 1e-5)
            << "trial " << trial << " row " << r << " column " << j;
      }
    }
  }
}

// Depths 1-6 take the grouped kernel (trees of at most 64 heap positions; larger ones the
// per-tree recursion); 7-10 need more quadrature points than groups have, so every tree recurses.
TEST(ExplainerTest, MatchesTheReferenceExplainerAtEveryDepthWithSpecialValues) {
  const std::vector<float> x = SpecialExams(61, 120);
  for (int depth = 1; depth <= 10; ++depth) {
    const Model m = RandomModel(60 + depth, 20, depth);
    auto fast = Compile(m);
    std::unique_ptr<ReferenceExplainer> reference;
    ASSERT_TRUE(ReferenceExplainer::Create(m, &reference).ok());
    for (size_t r = 0; r < 120; ++r) {
      float a[kNumClasses * kContributionsPerClass], b[kNumClasses * kContributionsPerClass];
      fast->Explain(&x[r * kNumFeatures], a);
      reference->Explain(&x[r * kNumFeatures], b);
      for (int i = 0; i < kNumClasses * kContributionsPerClass; ++i) {
        ASSERT_NEAR(a[i], b[i], 2e-5) << "depth " << depth << " row " << r << " value " << i;
      }
    }
  }
}

// The explainer picks its kernel at Create(): 16 lanes with AVX-512 where the CPU has it, else 4
// (FETAL_EVALUATOR_KERNEL=scalar forces that). A tree's numbers do not depend on the lane count,
// so both give the same bits.
TEST(ExplainerTest, EveryKernelGivesIdenticalBits) {
  const std::vector<float> x = SpecialExams(71, 100);
  for (int depth = 2; depth <= 8; depth += 2) {
    const Model m = RandomModel(70 + depth, 40, depth);
    std::vector<std::vector<float>> results;
    for (const char* kernel : {"scalar", "best"}) {
      setenv("FETAL_EVALUATOR_KERNEL", kernel, 1);
      auto e = Compile(m);
      unsetenv("FETAL_EVALUATOR_KERNEL");
      std::vector<float> out(100 * kNumClasses * kContributionsPerClass);
      e->ExplainBatch(x.data(), 100, out.data());
      results.push_back(out);
    }
    EXPECT_EQ(results[0], results[1]) << "depth " << depth;
  }
}

TEST(ExplainerTest, ConcurrentExplanationsEqualSerialOnes) {
  const Model m = RandomModel(81, 60, 5);
  auto e = Compile(m);
  const size_t n = 200;
  const std::vector<float> x = SpecialExams(82, n);
  std::vector<float> serial(n * kNumClasses * kContributionsPerClass);
  e->ExplainBatch(x.data(), n, serial.data());
  std::vector<std::vector<float>> parallel(4, std::vector<float>(serial.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { e->ExplainBatch(x.data(), n, parallel[size_t(t)].data()); });
  }
  for (std::thread& t : threads) t.join();
  for (const std::vector<float>& p : parallel) EXPECT_EQ(p, serial);
}

TEST(ExplainerTest, RejectsTreesDeeperThanItSupports) {
  // A chain: every split has a leaf on the right, 70 levels deep.
  Tree chain;
  const int depth = 70;
  for (int d = 0; d < depth; ++d) {
    chain.left.push_back(2 * d + 2);
    chain.right.push_back(2 * d + 1);
    chain.left.push_back(-1);
    chain.right.push_back(-1);
  }
  chain.left.push_back(-1);
  chain.right.push_back(-1);
  const size_t n = chain.left.size();
  chain.feature.assign(n, 1);
  chain.value.assign(n, 0.5f);
  chain.default_left.assign(n, 0);
  chain.cover.assign(n, 1.0f);
  Model m;
  m.trees = {chain};
  ASSERT_TRUE(CheckModel(m).ok()) << CheckModel(m).ToString();
  std::unique_ptr<Explainer> e;
  Status s = Explainer::Create(m, &e);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_NE(s.message().find("depth 70"), std::string::npos) << s.message();
  std::unique_ptr<ReferenceExplainer> reference;
  EXPECT_EQ(ReferenceExplainer::Create(m, &reference).code(), Status::Code::kUnsupported);
}

}  // namespace
}  // namespace fetal
