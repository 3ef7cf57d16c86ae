// The explainer's precomputed form of a model (built once by Explainer::Create) and the kernels
// that run on it. Internal to model/src/explainer*.cc; not a public header.
//
// Math (see also fetal/explainer.h). Take one tree, an exam x, and t in [0, 1]. Every edge from
// a split node to its child c gets a factor e_c(t): for a feature not split on above, e_c(t) =
// z_c + t (o_c - z_c), with z_c = cover(c) / cover(node) and o_c = 1 if x goes to c, else 0.
// Along a leaf's path the factors multiply to the leaf's term of the multilinear extension of
// TreeSHAP's coalition game (features split on again merge, as TreeSHAP's path does: the second
// edge's factor is the merged factor divided by the first's). With D(n, t) the product of the
// factors above node n and U(n, t) the factor-weighted sum of the leaves below it, the
// contribution of n's feature from node n is
//     integral over [0, 1] of D(n, t) * e_L'(t) * (U(L, t) - U(R, t)) dt,
// because e_R = 1 - e_L. The integrand is a polynomial of degree < depth, so Gauss-Legendre
// quadrature with ceil(depth / 2) points gives it exactly. For a split whose feature is split on
// above it, with Z the product of those ancestors' edge ratios on the path and A = 1 if x agreed
// with all of them: A = 1 gives e_L(t) = (Z z + t (h - Z z)) / M(t) and e_L'(t) = (h - z) Z /
// M(t)^2 with M(t) = Z + t (1 - Z), h = 1 if x goes left; A = 0 gives e_L = z, e_L' = 0. So per
// split and quadrature point only three numbers are needed: e_L for h = 0, for h = 1, and P = Z /
// M(t)^2; e_L' = (h - z) P.
//
// Layout. Trees of at most kShapGroupNodes heap positions (XGBoost trees of depth <= 8 usually
// are) are sorted by shape and packed into groups of `lanes` trees (16 with AVX-512, else 4), one
// tree per vector lane. A group's entries are the heap positions where some lane's tree splits
// (split entries, in heap = breadth-first order) and the children of those that no lane splits
// at (leaf entries). A lane whose tree has a leaf at or above a split entry gets a pass-through
// there (both children carry that leaf's value, so U is exactly the leaf value and no
// contribution is scattered): a tree's arithmetic does not depend on its group, and results do
// not depend on the lane count. Other trees (deeper or larger) take a per-tree recursion with
// the same numbers (ExplainTreeGeneric).
//
// Missing values: every exam is expanded as for the evaluator (evaluator_layout.h, ExpandRow);
// a split reads slot feature + kNumFeatures * default_left and goes left iff slot < threshold.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fetal/explainer.h"
#include "fetal/model.h"

namespace fetal {
namespace internal {

constexpr int kShapMaxPoints = (kMaxExplainDepth + 1) / 2;
// Groups serve models at most 6 deep, with 3 quadrature points (exact to degree 5): one kernel
// instance, and no loop over a run-time number of points. (A second instance for 4 points,
// depth 7 and 8, would cost the WebAssembly module about 1 KB gzipped.)
constexpr int kShapGroupPoints = 3;
constexpr int kShapGroupNodes = 64;  // entries (split + leaf) per group
constexpr int kShapGroupMaxDepth = 16;
constexpr int kShapPortableLanes = 4;
constexpr int kShapAvx512Lanes = 16;

// Per split entry, per lane: the numbers the kernels read, as one block of floats
// (kShapBlock(points) * lanes floats, each row `lanes` wide):
//   rows [0, points)            e_L at the quadrature points when x goes right (h = 0)
//   rows [points, 2 points)     e_L when x goes left (h = 1)
//   rows [2 points, 3 points)   P (e_L' = (h - z) P)
//   row 3 points + kZ           e_L when x disagreed with a same-feature ancestor (z)
//   row 3 points + kBetaRight   h - z for h = 0 (-z); kBetaLeft: h = 1 (1 - z)
//   row 3 points + kThreshold   split threshold
//   row 3 points + kSlot        expanded-row slot (int32 bits)
//   row 3 points + kFeatureBit  1 << feature (int32 bits); 0 for a pass-through
//   row 3 points + kLeafRight   bottom entries (both children leaf positions in every lane):
//                               U of the right child (its leaf value); kLeafDiff: U(left) -
//                               U(right), rounded as the kernel would round it
// A pass-through has e_L = 1, P = 0, z = 1, beta = 0, slot 0, threshold 0.
enum ShapRow {
  kZ = 0,
  kBetaRight,
  kBetaLeft,
  kThreshold,
  kSlot,
  kFeatureBit,
  kLeafRight,
  kLeafDiff,
  kShapExtraRows
};
constexpr int ShapBlockRows(int points) { return 3 * points + kShapExtraRows; }

// A group's entries are numbered: internal split entries (a split entry below them in some lane)
// in heap order, then bottom split entries in heap order, then leaf entries.
struct ShapGroup {
  uint32_t first_split;    // its first split entry, in ShapGroups::child and blocks
  uint32_t first_leaf;     // its first leaf entry, in ShapGroups::leaf
  uint32_t first_scatter;  // its first scatter entry
  uint16_t internal = 0, splits = 0, leaves = 0, scatters = 0;
};

struct ShapGroups {
  int lanes = 0;
  std::vector<ShapGroup> groups;
  // Per split entry: its left (low byte) and right child as entry indices within the group (a
  // split entry if < splits, else leaf entry index - splits).
  std::vector<uint32_t> child;
  std::vector<float> blocks;  // per split entry: ShapBlockRows(points) x lanes
  std::vector<float> leaf;    // per leaf entry: `lanes` leaf values
  // Where each real split's contribution goes, tree by tree in sorted order, each tree's splits
  // in heap order: from entry * lanes + lane (within its group, low 16 bits) to class * 22 +
  // feature (high 16 bits).
  std::vector<uint32_t> scatter;
};

// The trees the groups do not take, one after another, with the same per-split numbers (one
// lane).
struct ShapTrees {
  std::vector<uint32_t> roots;       // per tree: its root node, then its class
  std::vector<int32_t> left, right;  // per node: its children; -1 at a leaf
  std::vector<float> value;          // per node: leaf value (splits: unused)
  std::vector<float> blocks;         // per node: ShapBlockRows(points) floats (splits only)
};

struct ExplainerLayout {
  int points = 1;  // quadrature points
  std::array<float, kShapMaxPoints> weight{};
  std::array<float, kNumClasses> bias{};  // base score + the trees' expected values
  ShapGroups groups;
  ShapTrees trees;  // the trees not in groups
  size_t MemoryBytes() const;
};

// Builds the layout. Precondition: the model passed CheckExplainable with this max_depth.
void BuildExplainerLayout(const Model& model, int max_depth, int lanes, ExplainerLayout* out);

// CheckExplainable() without CheckModel(): the depth limit alone. Sets *max_depth.
// Precondition: CheckModel(model) is ok.
Status CheckExplainDepth(const Model& model, int* max_depth);

// Gauss-Legendre nodes and weights on [0, 1], in double, with IEEE arithmetic only (the same
// bits natively and in WebAssembly). 1 <= points <= kShapMaxPoints.
void GaussLegendre01(int points, double* nodes, double* weights);

// One tree's contributions by recursion (explainer_recursion.cc), added into phi (its class's
// row): `down` holds D at `node` for every quadrature point, `failed` the bits of the features
// some ancestor disagreed on; U at `node` goes to `up`.
void ExplainTreeRecursively(const ShapTrees& trees, int points, const float* slots, int node,
                            const float* down, uint32_t failed, float* up, float* phi);

// The kernels: contributions of every group into `out` (kNumClasses * kContributionsPerClass,
// accumulated) for one expanded exam (kSlots floats).
void ExplainGroupsPortable(const ExplainerLayout& layout, const float* slots, float* out);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
void ExplainGroupsAvx512(const ExplainerLayout& layout, const float* slots, float* out);
#endif

}  // namespace internal
}  // namespace fetal
