// Release manifests (docs/rollout.md): small signed JSON documents that say which model version
// each cohort of browsers runs. The engineer signs them at release time, as a set: a rollout at
// sequence k and both of its endings at k + 1 (the revert the server publishes if the rollout
// halts, the promotion it publishes when the rollout completes). The server stores and publishes
// them but cannot make or change one: it has no release key.
//
// The signed bytes are the manifest's canonical form: one JSON object, keys in byte order, no
// white space, integers only, ASCII only (what nlohmann::json's compact dump prints). A reader
// parses the bytes and refuses them unless printing what it parsed gives the same bytes, so
// every reader sees the one meaning the signer saw (no duplicate keys, no alternative spellings).
// The signature is the bundle signature (signature.h) over those bytes: ECDSA P-256 / SHA-256,
// base64 of r || s.
//
// Native only (the signature needs OpenSSL). Thread-safety: pure functions. Nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fetal/status.h"

namespace fetal {

inline constexpr char kReleaseFormat[] = "fetal-release-v1";

// A model version and the SHA-256 (lowercase hex) of its whole bundle file: the hash the
// registry stores and the bundle signature covers (X-Model-Sha256).
struct ReleaseModel {
  int64_t version = 0;
  std::string sha256;
};

enum class ReleaseKind { kRollout, kRevert, kPromote };
const char* ReleaseKindName(ReleaseKind kind);  // "rollout" | "revert" | "promote"

struct ReleaseManifest {
  std::string site;      // [a-z0-9-], 1..64 characters: which deployment the manifest is for
  int64_t sequence = 0;  // >= 1; monotonic per site
  ReleaseKind kind = ReleaseKind::kRollout;
  ReleaseModel stable;  // what every browser outside the canary cohort runs
  // kRollout only: the version the canary cohort runs, the cohort sizes in percent (ascending,
  // 1..100, the last 100), and 16 random bytes (32 lowercase hex) that seed the cohort hash.
  std::optional<ReleaseModel> candidate;
  std::vector<int> steps_percent;
  std::string cohort_salt;
  // kRevert only: the rollout's sequence and its candidate's SHA-256 (the version being undone).
  int64_t reverts = 0;
  std::string candidate_sha256;
  // kPromote only: the rollout's sequence (stable is then the rollout's candidate).
  int64_t promotes = 0;
  std::string issued;     // ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string not_after;  // same form, after issued: browsers refuse the manifest after it
};

// A site name: 1 to 64 of a-z, 0-9 and -.
bool IsReleaseSite(const std::string& s);
// `s` is exactly `length` lowercase hex digits.
bool IsLowerHex(const std::string& s, size_t length);

// The canonical bytes of `m`. Precondition: CheckManifest(m) is OK.
std::string CanonicalManifest(const ReleaseManifest& m);

// Field rules of one manifest (the ones above). InvalidArgument naming the field.
Status CheckManifest(const ReleaseManifest& m);

// Parses canonical bytes. InvalidArgument naming the field when a field is missing, of the wrong
// type or out of its rules, or "manifest" when the bytes are not in canonical form.
Status ParseManifest(const std::string& bytes, ReleaseManifest* out);

// The three manifests of one release, as the engineer signs them.
struct ReleaseSet {
  ReleaseManifest rollout;  // sequence k
  ReleaseManifest revert;   // sequence k + 1, back to rollout.stable
  ReleaseManifest promote;  // sequence k + 1, rollout.candidate becomes stable
};

// The set a rollout of `candidate` over `stable` at `sequence` needs; the endings carry the
// rollout's site, issued and not_after. `cohort_salt` is 32 lowercase hex characters (random).
Status MakeReleaseSet(const std::string& site, int64_t sequence, const ReleaseModel& stable,
                      const ReleaseModel& candidate, const std::vector<int>& steps_percent,
                      const std::string& cohort_salt, const std::string& issued,
                      const std::string& not_after, ReleaseSet* out);

// That the three belong together: kinds, sequences k and k + 1, one site, the revert returns to
// the rollout's stable version and names its candidate, the promotion makes the candidate stable.
// Each manifest must pass CheckManifest first. InvalidArgument naming the field
// ("manifests[1].stable" ...) on failure.
Status CheckReleaseSet(const ReleaseSet& set);

}  // namespace fetal
