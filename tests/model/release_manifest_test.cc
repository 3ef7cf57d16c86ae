// Release manifests: the canonical form round-trips, and every other spelling of the same
// object, an unknown or missing field, or a set whose parts do not belong together is refused
// with the field named. The signed form is the one a browser and the server must agree on.
#include "fetal/release_manifest.h"

#include <gtest/gtest.h>

#include <string>

namespace fetal {
namespace {

const ReleaseModel kStable{2, std::string(64, 'a')};
const ReleaseModel kCandidate{3, std::string(64, 'b')};

ReleaseSet MakeSet() {
  ReleaseSet set;
  Status s = MakeReleaseSet("hospital-a", 41, kStable, kCandidate, {5, 25, 100},
                            "00112233445566778899aabbccddeeff", "2026-12-01T09:00:00Z",
                            "2027-03-01T00:00:00Z", &set);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return set;
}

// Parses `bytes` and returns the field named in the refusal ("" when accepted).
std::string RefusedField(const std::string& bytes) {
  ReleaseManifest m;
  Status s = ParseManifest(bytes, &m);
  return s.ok() ? "" : s.field();
}

TEST(ReleaseManifestTest, CanonicalFormIsSortedCompactAndRoundTrips) {
  const ReleaseSet set = MakeSet();
  const std::string rollout = CanonicalManifest(set.rollout);
  EXPECT_EQ(rollout,
            "{\"candidate\":{\"sha256\":\"" + kCandidate.sha256 +
                "\",\"version\":3},\"cohort_salt\":\"00112233445566778899aabbccddeeff\","
                "\"format\":\"fetal-release-v1\",\"issued\":\"2026-12-01T09:00:00Z\","
                "\"kind\":\"rollout\",\"not_after\":\"2027-03-01T00:00:00Z\",\"sequence\":41,"
                "\"site\":\"hospital-a\",\"stable\":{\"sha256\":\"" +
                kStable.sha256 + "\",\"version\":2},\"steps_percent\":[5,25,100]}");
  for (const ReleaseManifest* m : {&set.rollout, &set.revert, &set.promote}) {
    ReleaseManifest parsed;
    ASSERT_TRUE(ParseManifest(CanonicalManifest(*m), &parsed).ok());
    EXPECT_EQ(CanonicalManifest(parsed), CanonicalManifest(*m));
  }
  ReleaseManifest revert;
  ASSERT_TRUE(ParseManifest(CanonicalManifest(set.revert), &revert).ok());
  EXPECT_EQ(revert.kind, ReleaseKind::kRevert);
  EXPECT_EQ(revert.sequence, 42);
  EXPECT_EQ(revert.reverts, 41);
  EXPECT_EQ(revert.candidate_sha256, kCandidate.sha256);
  EXPECT_FALSE(revert.candidate.has_value());
}

TEST(ReleaseManifestTest, OtherSpellingsOfTheSameObjectAreRefused) {
  const std::string rollout = CanonicalManifest(MakeSet().rollout);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = rollout;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_EQ(RefusedField(replace("\"sequence\":41", "\"sequence\": 41")), "manifest");
  EXPECT_EQ(RefusedField(replace("\"sequence\":41", "\"sequence\":41.0")), "sequence");
  EXPECT_EQ(RefusedField(replace("\"sequence\":41", "\"sequence\":4.1e1")), "sequence");
  // A duplicate key: the parser keeps one value, the bytes say two: refused, whichever is read.
  EXPECT_EQ(RefusedField(replace("\"sequence\":41", "\"sequence\":40,\"sequence\":41")),
            "manifest");
  EXPECT_EQ(RefusedField(replace("\"site\":\"hospital-a\"", "\"site\":\"hospit\\u0061l-a\"")),
            "manifest");
  EXPECT_EQ(RefusedField(rollout + "\n"), "manifest");
}

TEST(ReleaseManifestTest, FieldRulesNameTheField) {
  const std::string rollout = CanonicalManifest(MakeSet().rollout);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = rollout;
    return s.replace(s.find(from), from.size(), to);
  };
  EXPECT_EQ(RefusedField(replace("\"format\":\"fetal-release-v1\"", "\"format\":\"v2\"")),
            "format");
  EXPECT_EQ(RefusedField(replace("\"kind\":\"rollout\"", "\"kind\":\"revert\"")), "candidate");
  EXPECT_EQ(RefusedField(replace("[5,25,100]", "[5,25,90]")), "steps_percent");
  EXPECT_EQ(RefusedField(replace("[5,25,100]", "[25,5,100]")), "steps_percent");
  EXPECT_EQ(RefusedField(replace("hospital-a", "Hospital A")), "site");
  EXPECT_EQ(RefusedField(replace("00112233445566778899aabbccddeeff", "0011")), "cohort_salt");
  EXPECT_EQ(RefusedField(replace("2027-03-01T00:00:00Z", "2026-11-01T00:00:00Z")), "not_after");
  EXPECT_EQ(RefusedField(replace("\"issued\"", "\"extra\":1,\"issued\"")), "extra");
  EXPECT_EQ(RefusedField(replace("\"sequence\":41,", "")), "sequence");
  EXPECT_EQ(RefusedField("[]"), "manifest");
  EXPECT_EQ(RefusedField("not json"), "manifest");
}

TEST(ReleaseManifestTest, ASetMustBelongTogether) {
  ReleaseSet set = MakeSet();
  EXPECT_TRUE(CheckReleaseSet(set).ok());
  ReleaseSet other = set;
  other.revert.stable = kCandidate;
  EXPECT_EQ(CheckReleaseSet(other).field(), "manifests[1].stable");
  other = set;
  other.promote.sequence = 43;
  EXPECT_EQ(CheckReleaseSet(other).field(), "manifests[2].sequence");
  other = set;
  other.revert.site = "hospital-b";
  EXPECT_EQ(CheckReleaseSet(other).field(), "manifests[1].site");
  other = set;
  std::swap(other.revert, other.promote);
  EXPECT_EQ(CheckReleaseSet(other).field(), "manifests[1].kind");
  ReleaseSet bad;
  EXPECT_FALSE(MakeReleaseSet("hospital-a", 41, kCandidate, kStable, {100}, std::string(32, '0'),
                              "2026-12-01T09:00:00Z", "2027-03-01T00:00:00Z", &bad)
                   .ok())
      << "a candidate below the stable version is refused";
}

}  // namespace
}  // namespace fetal
