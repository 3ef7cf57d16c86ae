// CheckModel (what a usable Model is) and TreeDepth.
#include "fetal/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "test_models.h"

namespace fetal {
namespace {

using testing::RandomModel;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CheckModelTest : public ::testing::Test {
 protected:
  CheckModelTest() : model_(RandomModel(5, 2, 3)) {}
  Tree& tree() { return model_.trees[0]; }
  std::string Message() {
    Status s = CheckModel(model_);
    EXPECT_FALSE(s.ok());
    return s.message();
  }
  Model model_;
};

TEST_F(CheckModelTest, AcceptsAValidModel) { EXPECT_TRUE(CheckModel(model_).ok()); }

TEST_F(CheckModelTest, ChildIndexOutOfRange) {
  tree().left[0] = int32_t(tree().size());
  EXPECT_TRUE(Contains(Message(), "out of range"));
}

TEST_F(CheckModelTest, CycleBackToTheRoot) {
  tree().right[0] = 0;
  EXPECT_TRUE(Contains(Message(), "out of range"));
}

TEST_F(CheckModelTest, NodeWithTwoParents) {
  tree().right[0] = tree().left[0];
  EXPECT_TRUE(Contains(Message(), "more than one parent"));
}

TEST_F(CheckModelTest, UnreachableNodes) {
  // Four extra nodes a -> (b, c), c -> (a, d): each has exactly one parent, and the cycle
  // between a and c hangs off nothing, so none of them is reachable from the root.
  Tree& t = tree();
  const int32_t a = int32_t(t.size()), b = a + 1, c = a + 2, d = a + 3;
  t.left.insert(t.left.end(), {b, -1, a, -1});
  t.right.insert(t.right.end(), {c, -1, d, -1});
  t.feature.insert(t.feature.end(), {1, 0, 2, 0});
  t.value.insert(t.value.end(), {0.5f, 1, 0.5f, 2});
  t.default_left.insert(t.default_left.end(), {0, 0, 0, 0});
  t.cover.insert(t.cover.end(), {2, 1, 2, 1});
  EXPECT_TRUE(Contains(Message(), "4 nodes are not reachable"));
}

TEST_F(CheckModelTest, FeatureIndexOutOfRange) {
  tree().feature[0] = kNumFeatures;
  EXPECT_TRUE(Contains(Message(), "feature index 21"));
}

TEST_F(CheckModelTest, SplitWithOneChild) {
  tree().right[0] = -1;
  EXPECT_TRUE(Contains(Message(), "one child"));
}

TEST_F(CheckModelTest, NonFiniteValuesAndMismatchedArrays) {
  tree().value[0] = NAN;
  EXPECT_TRUE(Contains(Message(), "not finite"));
  tree().value[0] = 1;
  tree().cover.pop_back();
  EXPECT_TRUE(Contains(Message(), "differ in length"));
}

TEST_F(CheckModelTest, ModelLevelFields) {
  model_.temperature = 0;
  EXPECT_TRUE(Contains(Message(), "temperature"));
  model_.temperature = 1;
  model_.params_json = "[1,2]";
  EXPECT_TRUE(Contains(Message(), "params"));
  model_.params_json = "";
  model_.ood.inverse_covariance.resize(3);
  EXPECT_TRUE(Contains(Message(), "inverse covariance"));
  model_.ood.inverse_covariance.clear();  // no OOD reference at all is allowed
  EXPECT_TRUE(CheckModel(model_).ok());
  model_.trees.clear();
  EXPECT_TRUE(Contains(Message(), "no trees"));
}

TEST_F(CheckModelTest, TooManyNodesInATree) {
  Tree& t = tree();
  const size_t extra = kMaxNodesPerTree + 1 - t.size();
  t.left.resize(t.size() + extra, -1);
  t.right.resize(t.left.size(), -1);
  t.feature.resize(t.left.size(), 0);
  t.value.resize(t.left.size(), 0);
  t.default_left.resize(t.left.size(), 0);
  t.cover.resize(t.left.size(), 0);
  EXPECT_TRUE(Contains(Message(), "65535"));
}

TEST(TreeDepthTest, CountsSplitsOnTheLongestPath) {
  EXPECT_EQ(TreeDepth(testing::Stump(0, 1.0f, -1, 1, true)), 1);
  EXPECT_EQ(TreeDepth(testing::Leaf(0.5f)), 0);
  // Unbalanced: node 0 -> (1, 2), node 2 -> (3, 4), node 4 -> (5, 6); the rest leaves.
  Tree t;
  t.left = {1, -1, 3, -1, 5, -1, -1};
  t.right = {2, -1, 4, -1, 6, -1, -1};
  t.feature.assign(7, 0);
  t.value.assign(7, 0.5f);
  t.default_left.assign(7, 0);
  t.cover.assign(7, 1);
  ASSERT_TRUE(CheckModel([&] {
                Model m = RandomModel(1, 1, 1);
                m.trees = {t};
                return m;
              }())
                  .ok());
  EXPECT_EQ(TreeDepth(t), 3);
}

// The definition, recursively: 0 at a leaf, else one more than the deeper child.
int ReferenceDepth(const Tree& t, int node) {
  if (t.is_leaf(node)) return 0;
  return 1 + std::max(ReferenceDepth(t, t.left[node]), ReferenceDepth(t, t.right[node]));
}

TEST(TreeDepthTest, MatchesTheRecursiveDefinitionOnRandomTrees) {
  for (int depth = 1; depth <= 12; ++depth) {
    const Model m = RandomModel(uint32_t(depth), 4, depth);
    for (const Tree& t : m.trees) EXPECT_EQ(TreeDepth(t), ReferenceDepth(t, 0));
  }
}

}  // namespace
}  // namespace fetal
