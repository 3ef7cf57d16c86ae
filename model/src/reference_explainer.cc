// Exact TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2), arranged as libxgboost's
// RegTree::TreeShap: the same path extension/unwinding, in float, the same per-tree
// accumulation, so contributions agree with libxgboost's pred_contribs to float rounding.
// The reference for the fast Explainer (explainer.cc); not part of the WebAssembly build.
//
// Node weights are the covers (sum of hessians). The bias term of class c is the class's base
// score plus each of its trees' expected value (cover-weighted mean of the leaves).
#include "fetal/reference_explainer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fetal {
namespace {

struct PathElement {
  int feature_index;
  float zero_fraction;
  float one_fraction;
  float pweight;
};

// Extends the decision path with a fraction of "zero" (feature absent) and "one" (present).
void ExtendPath(PathElement* path, unsigned depth, float zero_fraction, float one_fraction,
                int feature_index) {
  path[depth].feature_index = feature_index;
  path[depth].zero_fraction = zero_fraction;
  path[depth].one_fraction = one_fraction;
  path[depth].pweight = depth == 0 ? 1.0f : 0.0f;
  for (int i = int(depth) - 1; i >= 0; i--) {
    path[i + 1].pweight += one_fraction * path[i].pweight * float(i + 1) / float(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * float(depth - i) / float(depth + 1);
  }
}

// Undoes a previous extension (used when a feature is split on again further down).
void UnwindPath(PathElement* path, unsigned depth, unsigned path_index) {
  const float one_fraction = path[path_index].one_fraction;
  const float zero_fraction = path[path_index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  for (int i = int(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = path[i].pweight;
      path[i].pweight = next_one_portion * float(depth + 1) / (float(i + 1) * one_fraction);
      next_one_portion =
          tmp - path[i].pweight * zero_fraction * float(depth - i) / float(depth + 1);
    } else {
      path[i].pweight = (path[i].pweight * float(depth + 1)) / (zero_fraction * float(depth - i));
    }
  }
  for (unsigned i = path_index; i < depth; ++i) {
    path[i].feature_index = path[i + 1].feature_index;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

// The total permutation weight if the extension at path_index were unwound.
float UnwoundPathSum(const PathElement* path, unsigned depth, unsigned path_index) {
  const float one_fraction = path[path_index].one_fraction;
  const float zero_fraction = path[path_index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  float total = 0;
  for (int i = int(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = next_one_portion * float(depth + 1) / (float(i + 1) * one_fraction);
      total += tmp;
      next_one_portion =
          path[i].pweight - tmp * zero_fraction * (float(depth - i) / float(depth + 1));
    } else if (zero_fraction != 0) {
      total += (path[i].pweight / zero_fraction) / (float(depth - i) / float(depth + 1));
    }
  }
  return total;
}

}  // namespace

struct ReferenceExplainer::Impl {
  std::vector<Tree> trees;
  std::vector<float> expected_value;  // per tree
  std::array<float, kNumClasses> base_score{};
  mutable std::vector<PathElement> path_scratch;
  mutable std::array<float, kContributionsPerClass> tree_phi{};

  void Recurse(const Tree& tree, const float* x, float* phi, int node, unsigned depth,
               PathElement* parent_path, float parent_zero_fraction, float parent_one_fraction,
               int parent_feature) const;
};

void ReferenceExplainer::Impl::Recurse(const Tree& tree, const float* x, float* phi, int node,
                                       unsigned depth, PathElement* parent_path,
                                       float parent_zero_fraction, float parent_one_fraction,
                                       int parent_feature) const {
  PathElement* path = parent_path + depth + 1;
  std::copy(parent_path, parent_path + depth + 1, path);
  ExtendPath(path, depth, parent_zero_fraction, parent_one_fraction, parent_feature);

  if (tree.is_leaf(node)) {
    for (unsigned i = 1; i <= depth; ++i) {
      const float w = UnwoundPathSum(path, depth, i);
      const PathElement& el = path[i];
      phi[el.feature_index] += w * (el.one_fraction - el.zero_fraction) * tree.value[node];
    }
    return;
  }

  const int feature = tree.feature[node];
  const float v = x[feature];
  int hot;
  if (std::isnan(v)) {
    hot = tree.default_left[node] ? tree.left[node] : tree.right[node];
  } else {
    hot = v < tree.value[node] ? tree.left[node] : tree.right[node];
  }
  const int cold = hot == tree.left[node] ? tree.right[node] : tree.left[node];
  const float w = tree.cover[node];
  const float hot_zero_fraction = tree.cover[hot] / w;
  const float cold_zero_fraction = tree.cover[cold] / w;
  float incoming_zero_fraction = 1;
  float incoming_one_fraction = 1;

  // If this feature was split on above, undo that split so it can be redone here.
  unsigned path_index = 0;
  for (; path_index <= depth; ++path_index) {
    if (path[path_index].feature_index == feature) break;
  }
  if (path_index != depth + 1) {
    incoming_zero_fraction = path[path_index].zero_fraction;
    incoming_one_fraction = path[path_index].one_fraction;
    UnwindPath(path, depth, path_index);
    depth -= 1;
  }
  Recurse(tree, x, phi, hot, depth + 1, path, hot_zero_fraction * incoming_zero_fraction,
          incoming_one_fraction, feature);
  Recurse(tree, x, phi, cold, depth + 1, path, cold_zero_fraction * incoming_zero_fraction, 0,
          feature);
}

ReferenceExplainer::~ReferenceExplainer() = default;

Status ReferenceExplainer::Create(const Model& model, std::unique_ptr<ReferenceExplainer>* out) {
  int max_depth = 0;
  Status s = CheckExplainable(model, &max_depth);
  if (!s.ok()) return s;
  std::unique_ptr<ReferenceExplainer> explainer(new ReferenceExplainer());
  explainer->impl_.reset(new Impl());
  Impl& impl = *explainer->impl_;
  impl.trees = model.trees;
  impl.expected_value.reserve(model.trees.size());
  for (const Tree& tree : impl.trees) impl.expected_value.push_back(TreeExpectedValue(tree));
  impl.base_score = model.base_score;
  // The recursion keeps one path copy per level, each one element longer than its parent's.
  const size_t levels = size_t(max_depth) + 2;
  impl.path_scratch.resize(levels * (levels + 1) / 2);
  *out = std::move(explainer);
  return Status::Ok();
}

void ReferenceExplainer::Explain(const float* features, float* contributions) const {
  const Impl& impl = *impl_;
  std::fill(contributions, contributions + kNumClasses * kContributionsPerClass, 0.0f);
  for (size_t t = 0; t < impl.trees.size(); ++t) {
    const Tree& tree = impl.trees[t];
    float* phi = impl.tree_phi.data();
    std::fill(phi, phi + kContributionsPerClass, 0.0f);
    phi[kNumFeatures] = impl.expected_value[t];
    impl.Recurse(tree, features, phi, 0, 0, impl.path_scratch.data(), 1, 1, -1);
    float* out = contributions + tree.target_class * kContributionsPerClass;
    for (int i = 0; i < kContributionsPerClass; ++i) out[i] += phi[i];
  }
  for (int c = 0; c < kNumClasses; ++c) {
    contributions[c * kContributionsPerClass + kNumFeatures] += impl.base_score[c];
  }
}

}  // namespace fetal
