// The explainer's group kernel, written once over GCC/Clang vector types of W float lanes (one
// tree per lane; see explainer_layout.h for the math and the layout). Instantiated for W = 4
// (explainer.cc: SSE2 natively, SIMD128 in WebAssembly) and W = 16 (explainer_avx512.cc). Every
// operation is lane-wise IEEE single precision (no fused multiply-add: the files are compiled
// with -ffp-contract=off), so a lane's numbers are the same bits whatever W is.
//
// Everything here has internal linkage (an unnamed namespace): explainer_avx512.cc includes
// this header under an AVX-512 target pragma, explainer.cc without one, and the two copies must
// not meet at link time.
#pragma once

#include <cstdint>
#include <cstring>

#include "explainer_layout.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // 64-byte vectors never cross a call: all inlined
#endif

namespace fetal {
namespace internal {
namespace {

#define FETAL_SHAP_INLINE inline __attribute__((always_inline))

template <int W>
struct ShapLanes {
  typedef float V __attribute__((vector_size(4 * W)));
  typedef int32_t M __attribute__((vector_size(4 * W)));  // lane masks: all ones or zero
};

template <typename T>
FETAL_SHAP_INLINE T LoadLanes(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
FETAL_SHAP_INLINE void StoreLanes(void* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// mask ? a : b, lane by lane, as bit operations (one bitselect / vpternlog).
template <typename V, typename M>
FETAL_SHAP_INLINE V SelectLanes(M mask, V a, V b) {
  return (V)(((M)a & mask) | ((M)b & ~mask));
}

// Where x goes at one split entry, 4 lanes, the portable way: one lookup per lane, one vector
// compare. (The vector is built from the four values at once: filling it lane by lane in a
// loop goes through memory, and each reload then waits for the store it overlaps.)
struct ScalarGoLeft {
  using V = typename ShapLanes<4>::V;
  using M = typename ShapLanes<4>::M;
  const float* slots;  // the expanded exam
  FETAL_SHAP_INLINE M operator()(const float* slot_bits, const float* threshold) const {
    int32_t slot[4];
    std::memcpy(slot, slot_bits, sizeof(slot));
    const V x = {slots[slot[0]], slots[slot[1]], slots[slot[2]], slots[slot[3]]};
    return x < LoadLanes<V>(threshold);
  }
};

// One group's contributions: out[e * W + lane] for split entry e, with Q quadrature points.
// GoLeft(slot row, threshold row) gives the lanes where x goes left.
template <int W, int Q, typename GoLeft>
FETAL_SHAP_INLINE void ExplainGroup(const ExplainerLayout& layout, const ShapGroup& g,
                                    const GoLeft& go_left, float* out) {
  using V = typename ShapLanes<W>::V;
  using M = typename ShapLanes<W>::M;
  // Rows of a split entry's block (explainer_layout.h, ShapRow), W floats each.
  constexpr int kRightFactor = 0, kLeftFactor = Q, kP = 2 * Q, kExtra = 3 * Q;
  constexpr size_t kStride = size_t(ShapBlockRows(Q)) * W;
  struct Entry {
    V down[Q];  // D
    V up[Q];    // U
    V edge[Q];  // e_L
    M left;     // x goes left
    M failed;   // bits of the features some ancestor disagreed on
    M agree;    // x agreed with every same-feature ancestor
  };
  Entry entries[kShapGroupNodes];
  const int internal = g.internal, splits = g.splits;
  const ShapGroups& groups = layout.groups;
  const float* const first = groups.blocks.data() + size_t(g.first_split) * kStride;
  const uint32_t* const child = groups.child.data() + g.first_split;

  const float* b = first;
  for (int e = 0; e < splits; ++e, b += kStride) {
    entries[e].left = go_left(b + (kExtra + kSlot) * W, b + (kExtra + kThreshold) * W);
  }
  const float* leaf = groups.leaf.data() + size_t(g.first_leaf) * W;
  for (int k = 0; k < g.leaves; ++k) {
    const V v = LoadLanes<V>(leaf + size_t(k) * W);
    for (int q = 0; q < Q; ++q) entries[splits + k].up[q] = v;
  }
  // e_L at quadrature point q for the entry whose block is b.
  auto factor = [](const float* block, int q, M left, M ok) {
    return SelectLanes(ok,
                       SelectLanes(left, LoadLanes<V>(block + (kLeftFactor + q) * W),
                                   LoadLanes<V>(block + (kRightFactor + q) * W)),
                       LoadLanes<V>(block + (kExtra + kZ) * W));
  };
  // sum_q D * diff * P, times h - z, where x agreed; into out.
  auto finish = [out](const float* block, int e, V sum, M left, M ok) {
    const V beta = SelectLanes(left, LoadLanes<V>(block + (kExtra + kBetaLeft) * W),
                               LoadLanes<V>(block + (kExtra + kBetaRight) * W));
    StoreLanes(out + size_t(e) * W, (V)((M)(sum * beta) & ok));
  };

  // Internal entries top-down: disagreements, edge factors, D below.
  entries[0].failed = M{};
  for (int q = 0; q < Q; ++q) entries[0].down[q] = V{} + layout.weight[size_t(q)];
  b = first;
  for (int e = 0; e < internal; ++e, b += kStride) {
    Entry& n = entries[e];
    Entry& l = entries[child[e] & 0xff];
    Entry& r = entries[child[e] >> 8];
    const M bit = LoadLanes<M>(b + (kExtra + kFeatureBit) * W);
    const M ok = (n.failed & bit) == 0;
    n.agree = ok;
    l.failed = n.failed | (bit & ~n.left);
    r.failed = n.failed | (bit & n.left);
    for (int q = 0; q < Q; ++q) {
      const V f = factor(b, q, n.left, ok);
      n.edge[q] = f;
      const V dl = n.down[q] * f;
      l.down[q] = dl;
      r.down[q] = n.down[q] - dl;
    }
  }
  // Bottom entries: their children are leaves, so U and the contribution come at once.
  for (int e = internal; e < splits; ++e, b += kStride) {
    Entry& n = entries[e];
    const M ok = (n.failed & LoadLanes<M>(b + (kExtra + kFeatureBit) * W)) == 0;
    const V right = LoadLanes<V>(b + (kExtra + kLeafRight) * W);
    const V diff = LoadLanes<V>(b + (kExtra + kLeafDiff) * W);
    V sum = V{};
    for (int q = 0; q < Q; ++q) {
      n.up[q] = right + factor(b, q, n.left, ok) * diff;
      sum = sum + n.down[q] * diff * LoadLanes<V>(b + (kP + q) * W);
    }
    finish(b, e, sum, n.left, ok);
  }
  // Internal entries bottom-up: U and the contribution.
  b = first + size_t(internal) * kStride;
  for (int e = internal - 1; e >= 0; --e) {
    b -= kStride;
    Entry& n = entries[e];
    const Entry& l = entries[child[e] & 0xff];
    const Entry& r = entries[child[e] >> 8];
    V sum = V{};
    for (int q = 0; q < Q; ++q) {
      const V diff = l.up[q] - r.up[q];
      n.up[q] = r.up[q] + n.edge[q] * diff;
      sum = sum + n.down[q] * diff * LoadLanes<V>(b + (kP + q) * W);
    }
    finish(b, e, sum, n.left, n.agree);
  }
}

// Every group, scattered into `contributions` tree by tree.
template <int W, int Q, typename GoLeft>
FETAL_SHAP_INLINE void ExplainGroupsWith(const ExplainerLayout& layout, const GoLeft& go_left,
                                         float* contributions) {
  const ShapGroups& groups = layout.groups;
  float out[kShapGroupNodes * W];
  for (const ShapGroup& g : groups.groups) {
    ExplainGroup<W, Q>(layout, g, go_left, out);
    const uint32_t* scatter = groups.scatter.data() + g.first_scatter;
    for (int s = 0; s < g.scatters; ++s) {
      contributions[scatter[s] >> 16] += out[scatter[s] & 0xffff];
    }
  }
}

template <int W, typename GoLeft>
FETAL_SHAP_INLINE void ExplainGroups(const ExplainerLayout& layout, const GoLeft& go_left,
                                     float* contributions) {
  // Models deeper than the groups serve have no groups (every tree takes the recursion).
  if (!layout.groups.groups.empty()) {
    ExplainGroupsWith<W, kShapGroupPoints>(layout, go_left, contributions);
  }
}

#undef FETAL_SHAP_INLINE

}  // namespace
}  // namespace internal
}  // namespace fetal

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
