// Evaluator: trees compiled into complete binary trees for branch-free traversal.
//
// Layout. A tree of depth D (D <= kMaxCompleteDepth) becomes a complete tree in heap order:
// node i has children 2i+1 and 2i+2; the 2^D - 1 split nodes come first, the 2^D leaves after
// them, all in one float block (thresholds, then leaf values), so the index reached after D
// steps reads the leaf straight from the same block. A leaf above depth D is pushed down by
// repeating its value in every leaf of the padded subtree (the padded splits are then
// irrelevant). Deeper trees keep a plain node walk.
//
// Missing values. Every exam is first expanded to 2 * kNumFeatures floats: slot f holds x with
// NaN replaced by +inf, slot kNumFeatures + f holds x with NaN replaced by -inf. A split whose
// missing values go left reads the second copy, otherwise the first; then
// go_right = (x >= threshold) gives XGBoost's rule ((float)x < threshold goes left, NaN goes to
// the default child) without a branch. Thresholds are finite (CheckModel), so +-inf inputs
// compare as XGBoost compares them.
//
// Sums. Each class margin starts at the base score and adds leaf values in float, in tree
// order, exactly as libxgboost's CPU predictor does, so margins match bit for bit.
#include "fetal/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fetal/bundle.h"

namespace fetal {
namespace {

constexpr int kMaxCompleteDepth = 10;  // 2^11 floats = 8 KB per tree at most
constexpr int kSlots = 2 * kNumFeatures;
constexpr size_t kBlockRows = 64;       // rows per batch block: 64 * 42 floats = 10.5 KB stack

int TreeDepth(const Tree& tree, int node) {
  // Iterative to be safe on deep (but already validated, hence acyclic) trees.
  std::vector<std::pair<int, int>> stack = {{node, 0}};
  int depth = 0;
  while (!stack.empty()) {
    auto [n, d] = stack.back();
    stack.pop_back();
    if (tree.is_leaf(n)) {
      depth = std::max(depth, d);
    } else {
      stack.push_back({tree.left[n], d + 1});
      stack.push_back({tree.right[n], d + 1});
    }
  }
  return depth;
}

inline void ExpandRow(const float* x, float* slots) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int f = 0; f < kNumFeatures; ++f) {
    const float v = x[f];
    const bool missing = std::isnan(v);
    slots[f] = missing ? kInf : v;
    slots[kNumFeatures + f] = missing ? -kInf : v;
  }
}

void Softmax(const float* margins, double inverse_temperature, float* probabilities) {
  double z[kNumClasses];
  double top = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = double(margins[c]) * inverse_temperature;
    top = std::max(top, z[c]);
  }
  double sum = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    z[c] = std::exp(z[c] - top);
    sum += z[c];
  }
  for (int c = 0; c < kNumClasses; ++c) probabilities[c] = float(z[c] / sum);
}

}  // namespace

struct Evaluator::Layout {
  struct CompiledTree {
    uint32_t block;    // offset into `values` (complete trees) or `nodes` (walked trees)
    uint32_t slots;    // offset into `slot` (complete trees only)
    int16_t depth;     // -1: walked tree
    int16_t target_class;
  };
  struct WalkNode {
    int32_t left;      // -1 at a leaf; right child is left + 1
    int32_t slot;
    float value;       // threshold, or leaf value at a leaf
  };
  std::vector<CompiledTree> trees;
  std::vector<float> values;
  std::vector<uint8_t> slot;
  std::vector<WalkNode> nodes;
  float base_score[kNumClasses];

  void AddCompleteTree(const Tree& tree, int depth);
  void AddWalkedTree(const Tree& tree);

  float TreeValue(const CompiledTree& t, const float* slots) const;
  void Margins(const float* slots, float* margins) const;
  void BlockMargins(const float* slots, size_t rows, float* margins) const;
};

void Evaluator::Layout::AddCompleteTree(const Tree& tree, int depth) {
  const size_t splits = (size_t(1) << depth) - 1;
  CompiledTree compiled{uint32_t(values.size()), uint32_t(slot.size()), int16_t(depth),
                        int16_t(tree.target_class)};
  values.resize(values.size() + 2 * splits + 1, 0.0f);
  slot.resize(slot.size() + splits, 0);
  float* block = values.data() + compiled.block;
  uint8_t* slots = slot.data() + compiled.slots;
  // Walk (source node, heap position, depth).
  struct Item { int node; size_t pos; int d; };
  std::vector<Item> stack = {{0, 0, 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    if (!tree.is_leaf(it.node)) {
      block[it.pos] = tree.value[it.node];
      slots[it.pos] = uint8_t(tree.feature[it.node] + (tree.default_left[it.node] ? kNumFeatures : 0));
      stack.push_back({tree.left[it.node], 2 * it.pos + 1, it.d + 1});
      stack.push_back({tree.right[it.node], 2 * it.pos + 2, it.d + 1});
      continue;
    }
    // Fill every leaf of the subtree under `pos` with this leaf's value; the padded split
    // slots keep threshold 0 / slot 0, whichever way they go the value is the same.
    size_t first = it.pos, count = 1;
    for (int d = it.d; d < depth; ++d) {
      first = 2 * first + 1;
      count *= 2;
    }
    for (size_t i = 0; i < count; ++i) block[first + i] = tree.value[it.node];
  }
  trees.push_back(compiled);
}

void Evaluator::Layout::AddWalkedTree(const Tree& tree) {
  CompiledTree compiled{uint32_t(nodes.size()), 0, -1, int16_t(tree.target_class)};
  // Breadth-first renumbering so that right = left + 1.
  std::vector<int> order = {0};
  for (size_t i = 0; i < order.size(); ++i) {
    if (!tree.is_leaf(order[i])) {
      order.push_back(tree.left[order[i]]);
      order.push_back(tree.right[order[i]]);
    }
  }
  int32_t next = 1;
  for (int node : order) {
    WalkNode w{-1, 0, tree.value[node]};
    if (!tree.is_leaf(node)) {
      w.left = next;
      next += 2;
      w.slot = tree.feature[node] + (tree.default_left[node] ? kNumFeatures : 0);
    }
    nodes.push_back(w);
  }
  trees.push_back(compiled);
}

inline float Evaluator::Layout::TreeValue(const CompiledTree& t, const float* slots) const {
  if (t.depth >= 0) {
    const float* block = values.data() + t.block;
    const uint8_t* feature_slot = slot.data() + t.slots;
    size_t i = 0;
    for (int d = 0; d < t.depth; ++d) {
      i = 2 * i + 1 + size_t(slots[feature_slot[i]] >= block[i]);
    }
    return block[i];
  }
  const WalkNode* tree_nodes = nodes.data() + t.block;
  int32_t i = 0;
  while (tree_nodes[i].left >= 0) {
    i = tree_nodes[i].left + int32_t(slots[tree_nodes[i].slot] >= tree_nodes[i].value);
  }
  return tree_nodes[i].value;
}

void Evaluator::Layout::Margins(const float* slots, float* margins) const {
  for (int c = 0; c < kNumClasses; ++c) margins[c] = base_score[c];
  for (const CompiledTree& t : trees) margins[t.target_class] += TreeValue(t, slots);
}

namespace {

// One complete tree of a fixed depth over a block of rows: the depth loop unrolls and rows are
// independent, so the CPU overlaps the traversals.
template <int kDepth>
void CompleteTreeBlock(const float* block, const uint8_t* feature_slot, const float* slots,
                       size_t rows, float* margins, int target_class) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = slots + r * kSlots;
    size_t i = 0;
    for (int d = 0; d < kDepth; ++d) i = 2 * i + 1 + size_t(x[feature_slot[i]] >= block[i]);
    margins[r * kNumClasses + target_class] += block[i];
  }
}

using BlockFunction = void (*)(const float*, const uint8_t*, const float*, size_t, float*, int);
constexpr BlockFunction kBlockFunctions[kMaxCompleteDepth + 1] = {
    CompleteTreeBlock<0>, CompleteTreeBlock<1>, CompleteTreeBlock<2>, CompleteTreeBlock<3>,
    CompleteTreeBlock<4>, CompleteTreeBlock<5>, CompleteTreeBlock<6>, CompleteTreeBlock<7>,
    CompleteTreeBlock<8>, CompleteTreeBlock<9>, CompleteTreeBlock<10>};

}  // namespace

void Evaluator::Layout::BlockMargins(const float* slots, size_t rows, float* margins) const {
  for (size_t r = 0; r < rows; ++r) {
    for (int c = 0; c < kNumClasses; ++c) margins[r * kNumClasses + c] = base_score[c];
  }
  for (const CompiledTree& t : trees) {
    if (t.depth >= 0) {
      kBlockFunctions[t.depth](values.data() + t.block, slot.data() + t.slots, slots, rows,
                               margins, t.target_class);
    } else {
      for (size_t r = 0; r < rows; ++r) {
        margins[r * kNumClasses + t.target_class] += TreeValue(t, slots + r * kSlots);
      }
    }
  }
}

Evaluator::~Evaluator() = default;

Status Evaluator::Create(const Model& model, std::unique_ptr<Evaluator>* out) {
  Status s = CheckModel(model);
  if (!s.ok()) return s;
  std::unique_ptr<Evaluator> evaluator(new Evaluator());
  evaluator->layout_.reset(new Layout());
  Layout& layout = *evaluator->layout_;
  for (int c = 0; c < kNumClasses; ++c) layout.base_score[c] = model.base_score[c];
  layout.trees.reserve(model.trees.size());
  for (const Tree& tree : model.trees) {
    const int depth = TreeDepth(tree, 0);
    if (depth <= kMaxCompleteDepth) {
      layout.AddCompleteTree(tree, depth);
    } else {
      layout.AddWalkedTree(tree);
    }
  }
  evaluator->temperature_ = model.temperature;
  *out = std::move(evaluator);
  return Status::Ok();
}

void Evaluator::Margins(const float* features, float* margins) const {
  float slots[kSlots];
  ExpandRow(features, slots);
  layout_->Margins(slots, margins);
}

void Evaluator::Predict(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictRaw(const float* features, float* probabilities) const {
  float margins[kNumClasses];
  Margins(features, margins);
  Softmax(margins, 1.0, probabilities);
}

namespace {

template <typename Layout>
void BatchProbabilities(const Layout& layout, const float* features, size_t n,
                        double inverse_temperature, float* probabilities) {
  float slots[kBlockRows * kSlots];
  float margins[kBlockRows * kNumClasses];
  for (size_t start = 0; start < n; start += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - start);
    for (size_t r = 0; r < rows; ++r) {
      ExpandRow(features + (start + r) * kNumFeatures, slots + r * kSlots);
    }
    layout.BlockMargins(slots, rows, margins);
    for (size_t r = 0; r < rows; ++r) {
      Softmax(margins + r * kNumClasses, inverse_temperature,
              probabilities + (start + r) * kNumClasses);
    }
  }
}

}  // namespace

void Evaluator::PredictBatch(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0 / temperature_, probabilities);
}

void Evaluator::PredictBatchRaw(const float* features, size_t n, float* probabilities) const {
  BatchProbabilities(*layout_, features, n, 1.0, probabilities);
}

int ArgMax(const float* probabilities) {
  int best = 0;
  for (int c = 1; c < kNumClasses; ++c) {
    if (probabilities[c] > probabilities[best]) best = c;
  }
  return best;
}

}  // namespace fetal
