// Building the explainer's layout from a model (see explainer_layout.h): the quadrature, each
// split's numbers, the sorted groups of trees and the per-tree form of the trees groups do not
// take; and what explanations require of a model (CheckExplainable, TreeExpectedValue).
#include "explainer_layout.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "evaluator_layout.h"

namespace fetal {
namespace internal {
namespace {

// P_k(x) and P_{k-1}(x), Legendre polynomials by their recurrence.
void Legendre(int k, double x, double* pk, double* pk1) {
  double previous = 1, current = x;
  if (k == 0) {
    *pk = 1;
    *pk1 = 0;
    return;
  }
  for (int j = 2; j <= k; ++j) {
    const double next = ((2 * j - 1) * x * current - (j - 1) * previous) / j;
    previous = current;
    current = next;
  }
  *pk = current;
  *pk1 = previous;
}

// The numbers of one split (explainer_layout.h, ShapRow) into column `lane` of a block whose rows
// are `lanes` wide. z: the left edge's cover ratio; Z: the product of the edge ratios of the
// ancestors on the path that split on the same feature (1 if none).
void WriteSplit(double z, double Z, int slot, float threshold, int feature, int points,
                const double* t, float* block, int lanes, int lane) {
  auto row = [&](int r) -> float& { return block[r * lanes + lane]; };
  const double a = Z * z;
  for (int q = 0; q < points; ++q) {
    const double m = Z + t[q] * (1 - Z);
    row(q) = float(a * (1 - t[q]) / m);
    row(points + q) = float((a + t[q] * (1 - a)) / m);
    row(2 * points + q) = float(Z / (m * m));
  }
  const int extra = 3 * points;
  row(extra + kZ) = float(z);
  row(extra + kBetaRight) = float(-z);
  row(extra + kBetaLeft) = float(1 - z);
  row(extra + kThreshold) = threshold;
  const int32_t bit = int32_t(uint32_t(1) << feature);
  std::memcpy(&row(extra + kSlot), &slot, sizeof(slot));
  std::memcpy(&row(extra + kFeatureBit), &bit, sizeof(bit));
}

// A lane that passes its leaf's value through a split entry (see explainer_layout.h).
void WritePassThrough(int points, float* block, int lanes, int lane) {
  for (int r = 0; r < ShapBlockRows(points); ++r) block[r * lanes + lane] = 0.0f;
  for (int q = 0; q < 2 * points; ++q) block[q * lanes + lane] = 1.0f;
  block[(3 * points + kZ) * lanes + lane] = 1.0f;
}

double EdgeRatio(const Tree& tree, int node, int child) {
  // A split no training row reached has cover 0: any ratio is exact then; take one half.
  return tree.cover[size_t(node)] > 0
             ? double(tree.cover[size_t(child)]) / double(tree.cover[size_t(node)])
             : 0.5;
}

// Per split node below `node`: z[n], its left edge's cover ratio, and Z[n], the product of the
// edge ratios of its same-feature ancestors on the path (1 if none); `product` holds that
// product per feature for the path down to `node`.
void ComputeRatios(const Tree& tree, int node, double* product, double* z, double* Z) {
  if (tree.is_leaf(node)) return;
  const int f = tree.feature[size_t(node)];
  const double above = product[f];
  z[node] = EdgeRatio(tree, node, tree.left[size_t(node)]);
  Z[node] = above;
  for (int child : {tree.left[size_t(node)], tree.right[size_t(node)]}) {
    product[f] = above * EdgeRatio(tree, node, child);
    ComputeRatios(tree, child, product, z, Z);
  }
  product[f] = above;
}

// One tree's z and Z for every node (see ComputeRatios).
void TreeRatios(const Tree& tree, std::vector<double>* z, std::vector<double>* Z) {
  z->assign(tree.size(), 0);
  Z->assign(tree.size(), 1);
  double product[kNumFeatures];
  for (double& p : product) p = 1;
  ComputeRatios(tree, 0, product, z->data(), Z->data());
}

// The node at heap position p (root 0, children 2p+1 and 2p+2), or the leaf above it on p's
// path. p + 1 in binary is a leading one, then one bit per level from the root (1 = right).
int NodeAtOrLeafAbove(const Tree& tree, uint32_t p) {
  int node = 0;
  for (int bit = 30 - __builtin_clz(p + 1); bit >= 0 && !tree.is_leaf(node); --bit) {
    node = ((p + 1) >> bit & 1) ? tree.right[size_t(node)] : tree.left[size_t(node)];
  }
  return node;
}

// Heap positions of the splits below `node` (at position p), appended in no particular order.
void SplitPositions(const Tree& tree, int node, uint32_t p, std::vector<uint32_t>* out) {
  if (tree.is_leaf(node)) return;
  out->push_back(p);
  SplitPositions(tree, tree.left[size_t(node)], 2 * p + 1, out);
  SplitPositions(tree, tree.right[size_t(node)], 2 * p + 2, out);
}

bool Contains(const std::vector<uint32_t>& v, uint32_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

// Whether a split position has a split child, i.e. is an internal entry.
bool IsInternal(const std::vector<uint32_t>& splits, uint32_t p) {
  return Contains(splits, 2 * p + 1) || Contains(splits, 2 * p + 2);
}

// A group's entries for these split positions: the splits plus the children of internal splits
// that are not splits themselves (AddGroup).
size_t EntryCount(const std::vector<uint32_t>& splits) {
  size_t leaves = 0;
  for (uint32_t p : splits) {
    if (IsInternal(splits, p))
      leaves += !Contains(splits, 2 * p + 1) + !Contains(splits, 2 * p + 2);
  }
  return splits.size() + leaves;
}

// Sorts keys[0, n) ascending (Shell sort: a few lines of code, fast enough for thousands of
// trees).
template <typename T>
void SortKeys(T* keys, size_t n) {
  for (size_t gap = n / 2; gap > 0; gap = gap == 2 ? 1 : gap * 5 / 11) {
    for (size_t i = gap; i < n; ++i) {
      const T k = keys[i];
      size_t j = i;
      for (; j >= gap && keys[j - gap] > k; j -= gap) keys[j] = keys[j - gap];
      keys[j] = k;
    }
  }
}

void AddGroup(const Model& model, const std::vector<uint32_t>& members,
              const std::vector<uint32_t>& positions, int points, const double* t,
              ShapGroups* out) {
  const int lanes = out->lanes;
  // Entry order (explainer_layout.h): internal splits, bottom splits, leaves; heap order in each.
  std::vector<uint32_t> sorted = positions, splits, bottom, leaves;
  SortKeys(sorted.data(), sorted.size());
  for (uint32_t p : sorted) {
    const bool internal = IsInternal(sorted, p);
    (internal ? splits : bottom).push_back(p);
    for (uint32_t c = 2 * p + 1; internal && c <= 2 * p + 2; ++c) {
      if (!Contains(sorted, c)) leaves.push_back(c);
    }
  }
  const size_t internal_count = splits.size();
  for (uint32_t p : bottom) splits.push_back(p);
  auto entry = [&](uint32_t p) {
    const size_t s = size_t(std::find(splits.begin(), splits.end(), p) - splits.begin());
    if (s < splits.size()) return uint8_t(s);
    return uint8_t(s + size_t(std::find(leaves.begin(), leaves.end(), p) - leaves.begin()));
  };
  // The value a lane's tree has at heap position p: its leaf there or above (0: no tree).
  auto leaf_value = [&](int lane, uint32_t p) {
    if (lane >= int(members.size())) return 0.0f;
    const Tree& tree = model.trees[members[size_t(lane)]];
    return tree.value[size_t(NodeAtOrLeafAbove(tree, p))];
  };

  ShapGroup g;
  g.first_split = uint32_t(out->child.size());
  g.first_leaf = uint32_t(out->leaf.size() / size_t(lanes));
  g.first_scatter = uint32_t(out->scatter.size());
  g.internal = uint16_t(internal_count);
  g.splits = uint16_t(splits.size());
  g.leaves = uint16_t(leaves.size());
  const size_t block_floats = size_t(ShapBlockRows(points)) * size_t(lanes);
  const size_t block0 = out->blocks.size();
  out->blocks.resize(block0 + splits.size() * block_floats, 0.0f);
  for (uint32_t p : splits) {
    out->child.push_back(uint32_t(entry(2 * p + 1)) | uint32_t(entry(2 * p + 2)) << 8);
  }
  std::vector<double> z, Z;
  for (int lane = 0; lane < lanes; ++lane) {
    const Tree* tree = lane < int(members.size()) ? &model.trees[members[size_t(lane)]] : nullptr;
    if (tree) TreeRatios(*tree, &z, &Z);
    for (size_t e = 0; e < splits.size(); ++e) {
      float* block = &out->blocks[block0 + e * block_floats];
      const int node = tree ? NodeAtOrLeafAbove(*tree, splits[e]) : 0;
      if (tree == nullptr || tree->is_leaf(node)) {
        WritePassThrough(points, block, lanes, lane);
      } else {
        WriteSplit(z[size_t(node)], Z[size_t(node)], SplitSlot(*tree, node),
                   tree->value[size_t(node)], tree->feature[size_t(node)], points, t, block, lanes,
                   lane);
      }
      if (e >= internal_count) {
        const float right = leaf_value(lane, 2 * splits[e] + 2);
        block[size_t(3 * points + kLeafRight) * size_t(lanes) + size_t(lane)] = right;
        block[size_t(3 * points + kLeafDiff) * size_t(lanes) + size_t(lane)] =
            leaf_value(lane, 2 * splits[e] + 1) - right;
      }
    }
  }
  for (uint32_t p : leaves) {
    for (int lane = 0; lane < lanes; ++lane) out->leaf.push_back(leaf_value(lane, p));
  }
  // Scatter: tree by tree, each tree's splits in heap order, whatever the group (so results do
  // not depend on the lane count).
  for (int lane = 0; lane < int(members.size()); ++lane) {
    const Tree& tree = model.trees[members[size_t(lane)]];
    for (uint32_t p : sorted) {
      const int node = NodeAtOrLeafAbove(tree, p);
      if (tree.is_leaf(node)) continue;
      const uint32_t to =
          uint32_t(tree.target_class * kContributionsPerClass + tree.feature[size_t(node)]);
      out->scatter.push_back((uint32_t(entry(p)) * uint32_t(lanes) + uint32_t(lane)) | to << 16);
    }
  }
  g.scatters = uint16_t(out->scatter.size() - g.first_scatter);
  out->groups.push_back(g);
}

// A tree the groups do not take, appended to `out` (node indices shifted to `out`'s).
void AddShapTree(const Tree& tree, int points, const double* t, ShapTrees* out) {
  const int32_t first = int32_t(out->left.size());
  out->roots.push_back(uint32_t(first));
  out->roots.push_back(uint32_t(tree.target_class));
  const size_t rows = size_t(ShapBlockRows(points));
  std::vector<double> z, Z;
  TreeRatios(tree, &z, &Z);
  out->blocks.resize(out->blocks.size() + tree.size() * rows, 0.0f);
  for (size_t n = 0; n < tree.size(); ++n) {
    const bool leaf = tree.is_leaf(n);
    out->left.push_back(leaf ? -1 : first + tree.left[n]);
    out->right.push_back(leaf ? -1 : first + tree.right[n]);
    out->value.push_back(tree.value[n]);
    if (leaf) continue;
    WriteSplit(z[n], Z[n], SplitSlot(tree, int(n)), tree.value[n], tree.feature[n], points, t,
               &out->blocks[(size_t(first) + n) * rows], 1, 0);
  }
}

}  // namespace

void GaussLegendre01(int points, double* nodes, double* weights) {
  // The roots of P_k interlace with those of P_{k-1}: each lies alone in one interval between
  // them (and -1, 1), so bisection finds it. bounds = -1, the roots so far, 1.
  double bounds[kShapMaxPoints + 2] = {-1.0, 1.0};
  for (int k = 1; k <= points; ++k) {
    double next[kShapMaxPoints];
    for (int i = 0; i < k; ++i) {
      double lo = bounds[i], hi = bounds[i + 1], p, p1;
      Legendre(k, lo, &p, &p1);
      const bool lo_negative = p < 0;
      for (int iteration = 0; iteration < 200; ++iteration) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        Legendre(k, mid, &p, &p1);
        ((p < 0) == lo_negative ? lo : hi) = mid;
      }
      next[i] = 0.5 * (lo + hi);
    }
    for (int i = 0; i < k; ++i) bounds[i + 1] = next[i];
    bounds[k + 1] = 1.0;
  }
  for (int i = 0; i < points; ++i) {
    const double x = bounds[i + 1];
    double p, p1;
    Legendre(points, x, &p, &p1);
    const double derivative = points * (x * p - p1) / (x * x - 1);
    nodes[i] = 0.5 * (1 + x);
    weights[i] = 1.0 / ((1 - x * x) * derivative * derivative);  // (2 / ...) / 2 on [0, 1]
  }
}

size_t ExplainerLayout::MemoryBytes() const {
  return sizeof(*this) + groups.groups.size() * sizeof(ShapGroup) +
         (groups.blocks.size() + groups.leaf.size() + trees.value.size() + trees.blocks.size()) *
             sizeof(float) +
         (groups.child.size() + groups.scatter.size() + trees.roots.size() + trees.left.size() +
          trees.right.size()) *
             sizeof(uint32_t);
}

void BuildExplainerLayout(const Model& model, int max_depth, int lanes, ExplainerLayout* out) {
  // ceil(depth / 2) points are exact; fewer than kShapGroupPoints would need another kernel.
  out->points = std::max(kShapGroupPoints, (max_depth + 1) / 2);
  double t[kShapMaxPoints], w[kShapMaxPoints];
  GaussLegendre01(out->points, t, w);
  for (int q = 0; q < out->points; ++q) out->weight[size_t(q)] = float(w[q]);
  // As libxgboost (and ReferenceExplainer): each class's trees' expected values in tree order,
  // then the base score, in float.
  out->bias.fill(0.0f);
  for (const Tree& tree : model.trees) {
    out->bias[size_t(tree.target_class)] += fetal::TreeExpectedValue(tree);
  }
  for (int c = 0; c < kNumClasses; ++c) out->bias[size_t(c)] += model.base_score[size_t(c)];

  // Trees of similar shape share groups, so fewer entries are pass-throughs: sorted by which of
  // the top 31 heap positions they split at, the root's first.
  std::vector<uint64_t> keys(model.trees.size());
  size_t grouped = 0;
  std::vector<uint32_t> positions;
  for (size_t k = 0; k < model.trees.size(); ++k) {
    const Tree& tree = model.trees[k];
    if (out->points > kShapGroupPoints || TreeDepth(tree) > kShapGroupMaxDepth ||
        tree.size() > size_t(kShapGroupNodes)) {
      AddShapTree(tree, out->points, t, &out->trees);
      continue;
    }
    positions.clear();
    SplitPositions(tree, 0, 0, &positions);
    uint64_t shape = 0;
    for (uint32_t p : positions) shape |= p < 31 ? uint64_t(1) << (62 - p) : 0;
    keys[grouped++] = shape | k;
  }
  SortKeys(keys.data(), grouped);
  out->groups.lanes = lanes;
  std::vector<uint32_t> members, united, candidate;
  for (size_t i = 0; i < grouped; ++i) {
    const uint32_t k = uint32_t(keys[i]);
    positions.clear();
    SplitPositions(model.trees[k], 0, 0, &positions);
    candidate = united;
    for (uint32_t p : positions) {
      if (!Contains(candidate, p)) candidate.push_back(p);
    }
    if (!members.empty() &&
        (int(members.size()) == lanes || EntryCount(candidate) > size_t(kShapGroupNodes))) {
      AddGroup(model, members, united, out->points, t, &out->groups);
      members.clear();
      candidate = positions;
    }
    members.push_back(k);
    united.swap(candidate);
  }
  if (!members.empty()) AddGroup(model, members, united, out->points, t, &out->groups);
}

}  // namespace internal

Status CheckExplainable(const Model& model, int* max_depth) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  return internal::CheckExplainDepth(model, max_depth);
}

Status internal::CheckExplainDepth(const Model& model, int* max_depth) {
  *max_depth = 0;
  for (size_t t = 0; t < model.trees.size(); ++t) {
    const int depth = TreeDepth(model.trees[t]);
    if (depth > kMaxExplainDepth) {
      return Status::Unsupported("tree " + std::to_string(t) + " has depth " +
                                 std::to_string(depth) + "; explanations support depth up to " +
                                 std::to_string(kMaxExplainDepth));
    }
    *max_depth = std::max(*max_depth, depth);
  }
  return Status::Ok();
}

namespace {

float ExpectedValueBelow(const Tree& tree, int node) {
  if (tree.is_leaf(node)) return tree.value[size_t(node)];
  const int l = tree.left[size_t(node)], r = tree.right[size_t(node)];
  float result = ExpectedValueBelow(tree, l) * tree.cover[size_t(l)];
  result += ExpectedValueBelow(tree, r) * tree.cover[size_t(r)];
  return result / tree.cover[size_t(node)];
}
}  // namespace

float TreeExpectedValue(const Tree& tree) { return ExpectedValueBelow(tree, 0); }

}  // namespace fetal
