#include "fetal/bundle.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fetal/monitoring_reference.h"
#include "fetal/schema.h"
#include "fetal/sha256.h"
#include "test_models.h"

namespace fetal {
namespace {

using testing::RandomModel;
using Bytes = std::vector<uint8_t>;

// Layout facts from docs/bundle-format.md, used to build bundles that are damaged on purpose
// but carry a correct content hash.
constexpr size_t kPrefix = 28;
constexpr size_t kHash = 32;

uint32_t U32At(const Bytes& b, size_t offset) {
  return uint32_t(b[offset]) | uint32_t(b[offset + 1]) << 8 | uint32_t(b[offset + 2]) << 16 |
         uint32_t(b[offset + 3]) << 24;
}

void PutU32At(Bytes* b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[offset + i] = uint8_t(v >> (8 * i));
}

void Rehash(Bytes* b) {
  auto digest = Sha256Digest(b->data(), b->size() - kHash);
  std::memcpy(b->data() + b->size() - kHash, digest.data(), kHash);
}

std::string HeaderText(const Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()) + kPrefix, U32At(b, 8));
}

// Replaces the JSON header, fixing the length field and the content hash.
Bytes WithHeader(const Bytes& b, const std::string& header) {
  std::string text(b.begin(), b.begin() + kPrefix);
  text += header;
  text.append(b.begin() + kPrefix + U32At(b, 8), b.end());
  Bytes out(text.begin(), text.end());
  PutU32At(&out, 8, uint32_t(header.size()));
  Rehash(&out);
  return out;
}

Status Read(const Bytes& b, Model* m = nullptr) {
  Model scratch;
  return ReadBundle(b.data(), b.size(), m ? m : &scratch);
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void ExpectSameModel(const Model& a, const Model& b) {
  EXPECT_EQ(a.model_version, b.model_version);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.training_data_sha256, b.training_data_sha256);
  EXPECT_EQ(a.figo_ruleset, b.figo_ruleset);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(nlohmann::json::parse(a.params_json), nlohmann::json::parse(b.params_json));
  EXPECT_EQ(a.base_score, b.base_score);
  EXPECT_EQ(a.temperature, b.temperature);  // exact: doubles must round-trip bit for bit
  EXPECT_EQ(a.training_range.min, b.training_range.min);
  EXPECT_EQ(a.training_range.max, b.training_range.max);
  EXPECT_EQ(a.ood.mean, b.ood.mean);
  EXPECT_EQ(a.ood.scale, b.ood.scale);
  EXPECT_EQ(a.ood.inverse_covariance, b.ood.inverse_covariance);
  EXPECT_EQ(a.ood.threshold, b.ood.threshold);
  EXPECT_EQ(a.ood.threshold_quantile, b.ood.threshold_quantile);
  EXPECT_EQ(a.metrics.accuracy, b.metrics.accuracy);
  EXPECT_EQ(a.metrics.macro_f1, b.metrics.macro_f1);
  EXPECT_EQ(a.metrics.balanced_accuracy, b.metrics.balanced_accuracy);
  EXPECT_EQ(a.metrics.log_loss, b.metrics.log_loss);
  EXPECT_EQ(a.metrics.brier, b.metrics.brier);
  EXPECT_EQ(a.metrics.ece, b.metrics.ece);
  EXPECT_EQ(a.metrics.recall, b.metrics.recall);
  EXPECT_EQ(a.metrics.splits, b.metrics.splits);
  ASSERT_EQ(a.input_differences.size(), b.input_differences.size());
  for (size_t i = 0; i < a.input_differences.size(); ++i) {
    EXPECT_EQ(a.input_differences[i].input, b.input_differences[i].input);
    EXPECT_EQ(a.input_differences[i].reference, b.input_differences[i].reference);
  }
  EXPECT_EQ(a.conformal.level, b.conformal.level);
  EXPECT_EQ(a.conformal.floor, b.conformal.floor);
  EXPECT_EQ(a.conformal.calibration_rows, b.conformal.calibration_rows);
  ASSERT_EQ(a.trees.size(), b.trees.size());
  for (size_t t = 0; t < a.trees.size(); ++t) {
    const Tree& x = a.trees[t];
    const Tree& y = b.trees[t];
    EXPECT_EQ(x.target_class, y.target_class) << "tree " << t;
    EXPECT_EQ(x.left, y.left) << "tree " << t;
    EXPECT_EQ(x.right, y.right) << "tree " << t;
    EXPECT_EQ(x.value, y.value) << "tree " << t;
    EXPECT_EQ(x.default_left, y.default_left) << "tree " << t;
    EXPECT_EQ(x.cover, y.cover) << "tree " << t;
    for (size_t n = 0; n < x.size(); ++n) {
      if (!x.is_leaf(n)) {
        EXPECT_EQ(x.feature[n], y.feature[n]) << "tree " << t << " node " << n;
      }
    }
  }
}

class BundleTest : public ::testing::Test {
 protected:
  BundleTest() : model_(RandomModel(42, 20, 5)), bytes_(WriteBundle(model_)) {}
  Model model_;
  Bytes bytes_;
};

TEST_F(BundleTest, RoundTripKeepsEveryField) {
  // RandomModel numbers nodes breadth-first, the bundle's own order, so trees compare equal.
  Model read;
  Status s = Read(bytes_, &read);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(read.format_version, kBundleFormatVersion);
  ExpectSameModel(model_, read);
  EXPECT_EQ(WriteBundle(read), bytes_);
}

TEST_F(BundleTest, WriteIsDeterministic) { EXPECT_EQ(WriteBundle(model_), bytes_); }

TEST_F(BundleTest, MonitoringSectionIsOptionalAndReadFromTheBytes) {
  bool found = true;
  MonitoringReference reference;
  ASSERT_TRUE(MonitoringReferenceFromBundle(bytes_.data(), bytes_.size(), &reference, &found).ok());
  EXPECT_FALSE(found);  // a bundle without one: no reference

  reference.rows = 3;
  for (auto& f : reference.features) f = {{}, {3}};  // one bin: a constant feature
  reference.features[4] = {{0.5, 2}, {1, 1, 1}};
  reference.class_prior = {0.5, 0.25, 0.25};
  reference.predicted_class_mix = {0.25, 0.5, 0.25};
  reference.top_probability = {{0.9}, {2, 1}};
  Model with = model_;
  with.monitoring_section = MonitoringReferenceToJson(reference);
  Bytes bytes = WriteBundle(with);
  Model read;
  ASSERT_TRUE(Read(bytes, &read).ok());  // what classifies skips the section
  EXPECT_TRUE(read.monitoring_section.empty());
  ExpectSameModel(model_, read);
  MonitoringReference back;
  ASSERT_TRUE(MonitoringReferenceFromBundle(bytes.data(), bytes.size(), &back, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(MonitoringReferenceToJson(back), with.monitoring_section);
  EXPECT_EQ(back.features[4].edges, (std::vector<double>{0.5, 2}));
}

TEST_F(BundleTest, SplitCoversAreStoredAsTheSumOfTheirChildren) {
  Model m = model_;
  Tree& t = m.trees[0];
  ASSERT_FALSE(t.is_leaf(0));
  t.cover[0] *= 1.5f;  // no longer the sum of its children
  Model read;
  ASSERT_TRUE(Read(WriteBundle(m), &read).ok());
  EXPECT_EQ(read.trees[0].cover[0], t.cover[t.left[0]] + t.cover[t.right[0]]);
}

TEST_F(BundleTest, ThresholdsAreSharedPerFeature) {
  // Every split of the random model uses one of 21 grid values per feature, so the threshold
  // table holds at most 21 * 21 entries however many splits there are.
  size_t splits = 0;
  for (const Tree& t : model_.trees) {
    for (size_t n = 0; n < t.size(); ++n) splits += !t.is_leaf(n);
  }
  EXPECT_GT(splits, 21u * 21u);
  EXPECT_LE(U32At(bytes_, 24), 21u * 21u);
  EXPECT_EQ(U32At(bytes_, 16) - U32At(bytes_, 20), splits);
}

TEST_F(BundleTest, NodesAreRenumberedBreadthFirst) {
  // Same tree as a stump-with-subtree, numbered depth-first: 0 -> (1 -> (2, 3), 4).
  Model m = model_;
  Tree t;
  t.target_class = 1;
  t.left = {1, 2, -1, -1, -1};
  t.right = {4, 3, -1, -1, -1};
  t.feature = {3, 5, 0, 0, 0};
  t.value = {0.5f, 1.5f, 0.1f, 0.2f, 0.3f};
  t.default_left = {1, 0, 0, 0, 0};
  t.cover = {10, 6, 2, 4, 4};
  m.trees = {t};
  const Bytes b = WriteBundle(m);
  Model read;
  ASSERT_TRUE(Read(b, &read).ok());
  const Tree& r = read.trees[0];
  // Breadth-first: 0, then its children (old 1, old 4), then old 1's children (old 2, old 3).
  EXPECT_EQ(r.left, (std::vector<int32_t>{1, 3, -1, -1, -1}));
  EXPECT_EQ(r.right, (std::vector<int32_t>{2, 4, -1, -1, -1}));
  EXPECT_EQ(r.value, (std::vector<float>{0.5f, 1.5f, 0.3f, 0.1f, 0.2f}));
  EXPECT_EQ(r.cover, (std::vector<float>{10, 6, 4, 2, 4}));
  EXPECT_EQ(r.feature[0], 3);
  EXPECT_EQ(r.feature[1], 5);
  EXPECT_EQ(r.default_left[0], 1);
  EXPECT_EQ(r.default_left[1], 0);
}

TEST_F(BundleTest, HeaderIsReadableJsonWithTheDocumentedFields) {
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes_));
  EXPECT_EQ(h["format"], "fetal-health-model-bundle");
  EXPECT_EQ(h["schema"]["version"], kSchemaVersion);
  ASSERT_EQ(h["schema"]["features"].size(), size_t(kNumFeatures));
  EXPECT_EQ(h["schema"]["features"][0]["key"], std::string(FeatureSchema()[0].key));
  EXPECT_EQ(h["schema"]["features"][0]["unit"], std::string(FeatureSchema()[0].unit));
  EXPECT_EQ(h["classes"], nlohmann::json({"Normal", "Suspect", "Pathological"}));
  EXPECT_EQ(h["model_version"], 7);
  EXPECT_EQ(h["params"]["max_depth"], 4);
  EXPECT_EQ(h["ood"]["inverse_covariance"].size(), size_t(kNumFeatures * kNumFeatures));
  EXPECT_EQ(U32At(bytes_, 12), model_.trees.size());
}

TEST_F(BundleTest, ContentHashIsTheTrailingSha256OfEverythingBefore) {
  const std::string hash = BundleContentHash(bytes_.data(), bytes_.size());
  EXPECT_EQ(hash, Sha256Hex(bytes_.data(), bytes_.size() - kHash));
  EXPECT_EQ(hash.size(), 64u);
}

TEST_F(BundleTest, TruncationAtAnyLengthIsReportedAsTruncated) {
  for (size_t size = 0; size < bytes_.size(); ++size) {
    Bytes cut(bytes_.begin(), bytes_.begin() + size);
    Status s = Read(cut);
    ASSERT_EQ(s.code(), Status::Code::kCorruption) << "size " << size;
    ASSERT_TRUE(Contains(s.message(), "truncated")) << "size " << size << ": " << s.message();
  }
}

TEST_F(BundleTest, TrailingBytesAreRejected) {
  Bytes longer = bytes_;
  longer.push_back(0);
  Status s = Read(longer);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_TRUE(Contains(s.message(), "unexpected bytes")) << s.message();
}

TEST_F(BundleTest, AnyFlippedByteIsRejected) {
  const size_t header_end = kPrefix + U32At(bytes_, 8);
  // Every byte of the prefix, then a spread over the header, the tree arrays and the hash.
  std::vector<size_t> positions;
  for (size_t i = 0; i < kPrefix; ++i) positions.push_back(i);
  for (size_t i = kPrefix; i < bytes_.size(); i += 97) positions.push_back(i);
  positions.push_back(header_end);
  positions.push_back(bytes_.size() - kHash - 1);
  positions.push_back(bytes_.size() - 1);
  for (size_t pos : positions) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80)}) {
      Bytes damaged = bytes_;
      damaged[pos] ^= mask;
      Status s = Read(damaged);
      ASSERT_FALSE(s.ok()) << "byte " << pos << " mask " << int(mask);
      if (pos >= 4 && pos < 8) {
        ASSERT_EQ(s.code(), Status::Code::kUnsupported) << s.ToString();
      } else {
        ASSERT_EQ(s.code(), Status::Code::kCorruption) << "byte " << pos << ": " << s.ToString();
      }
      if (pos >= kPrefix) {
        // Past the length fields, the content hash catches it and names both hashes.
        ASSERT_TRUE(Contains(s.message(), "hash mismatch")) << s.message();
        ASSERT_TRUE(Contains(s.message(), BundleContentHash(damaged.data(), damaged.size())))
            << s.message();
      }
    }
  }
}

TEST_F(BundleTest, WrongMagicIsNotABundle) {
  Bytes b = bytes_;
  b[0] = 'X';
  Status s = Read(b);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_TRUE(Contains(s.message(), "FHMB")) << s.message();
  const std::string json = "{\"learner\": {}}";
  Model scratch;
  s = ReadBundle(reinterpret_cast<const uint8_t*>(json.data()), json.size(), &scratch);
  EXPECT_TRUE(Contains(s.message(), "not a model bundle")) << s.message();
}

TEST_F(BundleTest, OtherFormatVersionIsUnsupportedWithBothVersionsNamed) {
  Bytes b = bytes_;
  PutU32At(&b, 4, 3);
  Rehash(&b);
  Status s = Read(b);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), "version 3")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "versions 1 to 2")) << s.message();
  PutU32At(&b, 4, 0);
  Rehash(&b);
  EXPECT_EQ(Read(b).code(), Status::Code::kUnsupported);
}

// The params text is the header's "params" object as written: for a bundle WriteBundle wrote,
// its compact form (what serializing the parsed object gives); for any other header, the object
// the JSON parser reads there, whatever the spacing, key escapes, repeats or strings hold.
TEST_F(BundleTest, ParamsTextIsTheObjectTheParserReads) {
  model_.params_json =
      R"({ "max_depth": 4, "eta": 0.05, "note": "a } and a \" and {[", "w": [1, {"x": 2}] })";
  const Bytes bytes = WriteBundle(model_);
  Model read;
  ASSERT_TRUE(Read(bytes, &read).ok());
  EXPECT_EQ(read.params_json, nlohmann::json::parse(model_.params_json).dump());

  const std::string header = HeaderText(bytes);
  const size_t at = header.find("\"params\":");
  ASSERT_NE(at, std::string::npos);
  const std::string before = header.substr(0, at), after = header.substr(at + 9);
  for (const std::string& changed : {
           before + "\"params\" :\n  " + after,                     // spacing
           before + "\"par\\u0061ms\":" + after,                    // an escaped key
           before + "\"params\":{\"old\":1},\"params\":" + after,   // the last one counts
           before + "\"params\\n\":{\"x\":1},\"params\":" + after,  // a key that only looks like it
           "{\"x\":\"\\\"params\\\":{}\"," + header.substr(1),  // a string that only looks like it
       }) {
    const nlohmann::json parsed = nlohmann::json::parse(changed);
    Model m;
    Status s = Read(WithHeader(bytes, changed), &m);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << changed.substr(0, 200);
    EXPECT_EQ(nlohmann::json::parse(m.params_json), parsed["params"]) << changed.substr(0, 200);
  }
}

// A model with both optional sections of format 2.
Model WithSections(Model m) {
  m.input_differences = {{17, 0}, {18, 0}};
  m.conformal.level = 0.95;
  m.conformal.floor = {0.61f, 0.043f, 0.125f};
  m.conformal.calibration_rows = {1646, 292, 175};
  return m;
}

TEST_F(BundleTest, SectionsRoundTripAndTheInputsAreRequired) {
  const Model model = WithSections(model_);
  const Bytes bytes = WriteBundle(model);
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes));
  EXPECT_EQ(h["sections"]["inputs"],
            nlohmann::json::parse(R"({"version":1,"input":[17,18],"reference":[0,0]})"));
  EXPECT_EQ(h["sections"]["conformal"]["version"], 1);
  EXPECT_EQ(h["sections"]["conformal"]["calibration_rows"], nlohmann::json({1646, 292, 175}));
  EXPECT_EQ(h["required_sections"], nlohmann::json({"inputs"}));
  Model read;
  ASSERT_TRUE(Read(bytes, &read).ok()) << Read(bytes).ToString();
  ExpectSameModel(model, read);
  ASSERT_EQ(read.input_differences.size(), 2u);
  EXPECT_EQ(read.input_differences[1].input, 18);
  EXPECT_EQ(read.input_differences[1].reference, 0);
  EXPECT_EQ(read.conformal.level, 0.95);
  EXPECT_EQ(read.conformal.floor, model.conformal.floor);
  EXPECT_EQ(read.conformal.calibration_rows, model.conformal.calibration_rows);
  EXPECT_EQ(WriteBundle(read), bytes);
  // A model without sections writes none.
  EXPECT_FALSE(nlohmann::json::parse(HeaderText(bytes_)).contains("sections"));
}

TEST_F(BundleTest, AVersion1BundleStillLoadsAndHasNoSets) {
  // Format 1 is format 2 without sections: the same bytes with version 1 are a version-1 bundle.
  Bytes v1 = bytes_;
  PutU32At(&v1, 4, 1);
  Rehash(&v1);
  Model read;
  ASSERT_TRUE(Read(v1, &read).ok()) << Read(v1).ToString();
  EXPECT_EQ(read.format_version, 1);
  EXPECT_EQ(read.conformal.level, 0);
  EXPECT_TRUE(read.input_differences.empty());
  ExpectSameModel(model_, read);
}

TEST_F(BundleTest, UnknownSectionsAreSkippedUnlessRequired) {
  const Bytes bytes = WriteBundle(WithSections(model_));
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes));
  // A later optional section (say a monitoring reference) and a later version of a known one.
  h["sections"]["monitoring"] = {{"version", 1}, {"histograms", {1, 2, 3}}};
  h["sections"]["conformal"]["version"] = 2;
  Model read;
  ASSERT_TRUE(Read(WithHeader(bytes, h.dump()), &read).ok());
  EXPECT_EQ(read.conformal.level, 0) << "a conformal section of an unknown version is skipped";
  EXPECT_EQ(read.input_differences.size(), 2u);
  // Required, they are refused rather than silently skipped.
  for (const char* name : {"monitoring", "conformal"}) {
    nlohmann::json r = h;
    r["required_sections"].push_back(name);
    Status s = Read(WithHeader(bytes, r.dump()));
    EXPECT_EQ(s.code(), Status::Code::kUnsupported) << name;
    EXPECT_TRUE(Contains(s.message(), "section this build does not read")) << s.message();
  }
  nlohmann::json r = h;
  r["sections"]["inputs"]["version"] = 2;  // required by the writer, now unreadable
  EXPECT_EQ(Read(WithHeader(bytes, r.dump())).code(), Status::Code::kUnsupported);
}

TEST_F(BundleTest, BadSectionsAreRefusedNamingWhat) {
  const Bytes bytes = WriteBundle(WithSections(model_));
  struct Change {
    const char* pointer;
    nlohmann::json value;
    const char* says;
  } changes[] = {
      {"/sections/inputs/input", {17, 21}, "feature indices"},
      {"/sections/inputs/input", {17, 1e30}, "feature indices"},
      {"/sections/inputs/reference", {0}, "'sections.inputs.reference'"},
      {"/sections/inputs/reference", {0, 17}, "input differences"},
      {"/sections/conformal/level", 1.5, "conformal level"},
      {"/sections/conformal/floor", {0.5, "x", 0.1}, "'sections.conformal.floor'"},
      {"/sections/conformal/calibration_rows", {1, -2, 3}, "conformal level"},
      {"/sections/conformal/level", "high", "'sections.conformal.level'"},
  };
  for (const Change& c : changes) {
    nlohmann::json h = nlohmann::json::parse(HeaderText(bytes));
    h[nlohmann::json::json_pointer(c.pointer)] = c.value;
    Status s = Read(WithHeader(bytes, h.dump()));
    EXPECT_FALSE(s.ok()) << c.pointer;
    EXPECT_TRUE(Contains(s.message(), c.says)) << c.pointer << ": " << s.message();
  }
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes));
  h["sections"] = 3;
  EXPECT_EQ(Read(WithHeader(bytes, h.dump())).code(), Status::Code::kCorruption);
}

TEST_F(BundleTest, UnchangedHeaderRebuiltByTheTestHelperIsAccepted) {
  // Guards the tests below: their damaged bundles differ only in what they change.
  EXPECT_EQ(WithHeader(bytes_, HeaderText(bytes_)), bytes_);
}

TEST_F(BundleTest, DifferentFeatureSchemaIsRefused) {
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes_));
  std::swap(h["schema"]["features"][3], h["schema"]["features"][4]);
  Status s = Read(WithHeader(bytes_, h.dump()));
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), "feature 3")) << s.message();
  EXPECT_TRUE(Contains(s.message(), std::string(FeatureSchema()[3].key))) << s.message();

  h = nlohmann::json::parse(HeaderText(bytes_));
  h["schema"]["features"].erase(20);
  s = Read(WithHeader(bytes_, h.dump()));
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), "20 features")) << s.message();

  h = nlohmann::json::parse(HeaderText(bytes_));
  h["schema"]["version"] = kSchemaVersion + 1;
  s = Read(WithHeader(bytes_, h.dump()));
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), "schema version")) << s.message();

  h = nlohmann::json::parse(HeaderText(bytes_));
  h["classes"][1] = "Suspicious";
  s = Read(WithHeader(bytes_, h.dump()));
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), "Suspect")) << s.message();
}

TEST_F(BundleTest, HeaderFieldsOfTheWrongTypeAreNamed) {
  struct Change {
    const char* pointer;
    nlohmann::json value;
    const char* field;
  } changes[] = {
      {"/temperature", "1.0", "temperature"},
      {"/model_version", 1.5, "model_version"},
      {"/ood/threshold", nullptr, "ood.threshold"},
      {"/base_score", {1, 2}, "base_score"},
      {"/metrics/recall", {1, 2, "x"}, "metrics.recall"},
      {"/training_range", 3, "training_range"},
      {"/params", {1, 2}, "params"},  // ReadBundle's check then need not parse params again
  };
  for (const Change& c : changes) {
    nlohmann::json h = nlohmann::json::parse(HeaderText(bytes_));
    h[nlohmann::json::json_pointer(c.pointer)] = c.value;
    Status s = Read(WithHeader(bytes_, h.dump()));
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << c.pointer;
    EXPECT_TRUE(Contains(s.message(), std::string("'") + c.field + "'")) << s.message();
  }
  nlohmann::json h = nlohmann::json::parse(HeaderText(bytes_));
  h.erase("created");
  Status s = Read(WithHeader(bytes_, h.dump()));
  EXPECT_TRUE(Contains(s.message(), "missing field 'created'")) << s.message();
  s = Read(WithHeader(bytes_, "{\"schema\": [}"));
  EXPECT_TRUE(Contains(s.message(), "not a JSON object")) << s.message();
}

TEST_F(BundleTest, BadTreeArraysUnderAValidHashAreRejected) {
  const size_t trees = U32At(bytes_, 12);
  const size_t node_counts = kPrefix + U32At(bytes_, 8);
  const size_t classes = node_counts + 2 * trees;
  const size_t info = classes + trees;
  {
    Bytes b = bytes_;
    b[classes] = 3;  // class out of range
    Rehash(&b);
    Status s = Read(b);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_TRUE(Contains(s.message(), "target class 3")) << s.message();
  }
  {
    Bytes b = bytes_;
    b[info] = 21;  // root splits on feature 21
    Rehash(&b);
    Status s = Read(b);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_TRUE(Contains(s.message(), "tree 0 node 0")) << s.message();
  }
  {
    Bytes b = bytes_;
    b[info] = 0x80;  // root becomes a leaf: no longer the leaf count the prefix states
    Rehash(&b);
    Status s = Read(b);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_TRUE(Contains(s.message(), "leaf nodes")) << s.message();
  }
  {
    // Swap the root's byte with a leaf's in tree 0: same leaf count, impossible shape.
    Bytes b = bytes_;
    size_t leaf = info + 1;
    while (b[leaf] != 0x80) ++leaf;
    std::swap(b[info], b[leaf]);
    Rehash(&b);
    Status s = Read(b);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
  }
  {
    // Threshold index of the first split past the end of its feature's table.
    const size_t table_sizes = info + U32At(bytes_, 16);
    const size_t index_low = table_sizes + 2 * kNumFeatures + 4 * U32At(bytes_, 24);
    const size_t splits = U32At(bytes_, 16) - U32At(bytes_, 20);
    Bytes b = bytes_;
    b[index_low] = 0xff;
    b[index_low + splits] = 0xff;
    Rehash(&b);
    Status s = Read(b);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_TRUE(Contains(s.message(), "threshold index 65535")) << s.message();
  }
  {
    Bytes b = bytes_;
    b[node_counts] = 0;  // tree 0 claims 0 nodes (low byte; real counts are < 256 here)
    b[node_counts + 1] = 0;
    Rehash(&b);
    EXPECT_EQ(Read(b).code(), Status::Code::kCorruption);
  }
}

// ---- ImportXgboostJson: input that is not a usable XGBoost model ----

nlohmann::json MinimalXgboostModel() {
  nlohmann::json tree = {{"left_children", {1, -1, -1}}, {"right_children", {2, -1, -1}},
                         {"split_indices", {4, 0, 0}},   {"split_conditions", {0.5, -0.25, 0.75}},
                         {"default_left", {1, 0, 0}},    {"sum_hessian", {10.0, 6.0, 4.0}},
                         {"split_type", {0, 0, 0}},      {"base_weights", {0, 0, 0}}};
  nlohmann::json trees = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) trees.push_back(tree);
  return {{"learner",
           {{"objective", {{"name", "multi:softprob"}}},
            {"learner_model_param",
             {{"base_score", "5E-1"}, {"num_class", "3"}, {"num_feature", "21"}}},
            {"gradient_booster",
             {{"name", "gbtree"}, {"model", {{"trees", trees}, {"tree_info", {0, 1, 2}}}}}}}},
          {"version", {1, 7, 4}}};
}

Status Import(const nlohmann::json& j, Model* m = nullptr) {
  Model scratch;
  return ImportXgboostJson(j.dump(), m ? m : &scratch);
}

TEST(XgboostImportTest, ReadsAMinimalModel) {
  Model m;
  ASSERT_TRUE(Import(MinimalXgboostModel(), &m).ok());
  ASSERT_EQ(m.trees.size(), 3u);
  EXPECT_EQ(m.trees[2].target_class, 2);
  EXPECT_EQ(m.trees[0].feature[0], 4);
  EXPECT_EQ(m.trees[0].value, (std::vector<float>{0.5f, -0.25f, 0.75f}));
  EXPECT_EQ(m.trees[0].cover, (std::vector<float>{10, 6, 4}));
  EXPECT_EQ(m.trees[0].default_left[0], 1);
  EXPECT_EQ(m.base_score, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  EXPECT_TRUE(CheckModel(m).ok());
}

TEST(XgboostImportTest, RejectsWhatItCannotRepresentNamingTheField) {
  EXPECT_TRUE(Contains(ImportXgboostJson("{not json", nullptr).message(), "not valid JSON"));
  struct Case {
    const char* pointer;
    nlohmann::json value;
    const char* expected;
  } cases[] = {
      {"/learner/objective/name", "binary:logistic", "binary:logistic"},
      {"/learner/learner_model_param/num_class", "2", "num_class"},
      {"/learner/learner_model_param/num_feature", "20", "num_feature"},
      {"/learner/learner_model_param/base_score", "half", "base_score"},
      {"/learner/gradient_booster/name", "gblinear", "gblinear"},
      {"/learner/gradient_booster/model/trees", nlohmann::json::array(), "trees"},
      {"/learner/gradient_booster/model/tree_info", {0, 1}, "tree_info"},
      {"/learner/gradient_booster/model/tree_info/2", 3, "tree_info[2]"},
      {"/learner/gradient_booster/model/trees/1/left_children/0", 7, "bad child index"},
      {"/learner/gradient_booster/model/trees/1/left_children/0", 0, "bad child index"},
      {"/learner/gradient_booster/model/trees/1/split_indices/0", 21, "feature 21"},
      {"/learner/gradient_booster/model/trees/1/split_type/0", 1, "categorical"},
      {"/learner/gradient_booster/model/trees/0/sum_hessian", {1, 2}, "trees[0].sum_hessian"},
      {"/learner/gradient_booster/model/trees/0/default_left/1", "yes", "default_left"},
      {"/learner/gradient_booster/model/trees/0/sum_hessian/1", -1.0, "tree 0 node 1: cover"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = MinimalXgboostModel();
    j[nlohmann::json::json_pointer(c.pointer)] = c.value;
    Status s = Import(j);
    EXPECT_FALSE(s.ok()) << c.pointer;
    EXPECT_TRUE(Contains(s.message(), c.expected)) << c.pointer << ": " << s.message();
  }
}

TEST(XgboostImportTest, SoftmaxObjectiveAndBooleanDefaultLeftAreAccepted) {
  nlohmann::json j = MinimalXgboostModel();
  j["learner"]["objective"]["name"] = "multi:softmax";
  j["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"] = {true, false, false};
  Model m;
  ASSERT_TRUE(Import(j, &m).ok());
  EXPECT_EQ(m.trees[0].default_left[0], 1);
}

TEST(XgboostImportTest, UnreachableDeletedNodesAreDropped) {
  nlohmann::json j = MinimalXgboostModel();
  auto& t = j["learner"]["gradient_booster"]["model"]["trees"][0];
  // Node 3 and 4 are left over from a pruned split: nothing points at them.
  t["left_children"] = {1, -1, -1, -1, -1};
  t["right_children"] = {2, -1, -1, -1, -1};
  t["split_indices"] = {4, 0, 0, 0, 0};
  t["split_conditions"] = {0.5, -0.25, 0.75, 9, 9};
  t["default_left"] = {1, 0, 0, 0, 0};
  t["sum_hessian"] = {10.0, 6.0, 4.0, 1, 1};
  t["split_type"] = {0, 0, 0, 0, 0};
  Model m;
  ASSERT_TRUE(Import(j, &m).ok());
  EXPECT_EQ(m.trees[0].size(), 3u);
  EXPECT_TRUE(CheckModel(m).ok());
}

}  // namespace
}  // namespace fetal
