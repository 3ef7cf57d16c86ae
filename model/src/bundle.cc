// Model bundle reader/writer: the JSON header, the tree planes around it and the content hash.
// The byte layout is specified in docs/bundle-format.md; keep the two in step. What a valid Model
// is lives in model.cc (CheckModel), which both directions apply. Every check here returns a
// Status (never throws): this file is also compiled to WebAssembly, where a throw aborts the
// module. One file on purpose: split in two, the wasm build grew by ~1.4 KB gzipped.
#include "fetal/bundle.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cold.h"
#include "fetal/schema.h"
#include "fetal/sha256.h"
#include "model_check.h"

namespace fetal {
namespace {

using Json = nlohmann::json;

constexpr uint8_t kMagic[4] = {'F', 'H', 'M', 'B'};
// magic, format version, header length, tree count, node count, leaf count, threshold count
constexpr size_t kPrefixSize = 28;
constexpr size_t kHashSize = 32;
constexpr uint8_t kLeafBit = 0x80;
constexpr uint8_t kDefaultLeftBit = 0x40;
constexpr uint8_t kFeatureMask = 0x3f;
static_assert(kMaxNodesPerTree <= 0xffff, "node counts are stored as u16");
static_assert(kNumFeatures <= kFeatureMask, "feature index must fit the node info byte");

// ---- little-endian encoding ----

void PutU16(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(uint8_t(v));
  out->push_back(uint8_t(v >> 8));
}
void PutU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(uint8_t(v >> (8 * i)));
}
uint16_t GetU16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
float GetF32(const uint8_t* p) {
  uint32_t bits = GetU32(p);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Byte planes: the low bytes of all floats, then the second bytes, ... Values of similar
// magnitude share sign/exponent bytes, which then compress well together.
void PutF32Planes(std::vector<uint8_t>* out, const std::vector<float>& values) {
  std::vector<uint32_t> bits(values.size());
  if (!values.empty()) std::memcpy(bits.data(), values.data(), 4 * values.size());
  for (int plane = 0; plane < 4; ++plane) {
    for (uint32_t b : bits) out->push_back(uint8_t(b >> (8 * plane)));
  }
}
float GetF32Plane(const uint8_t* planes, uint64_t count, uint64_t index) {
  const uint32_t bits = uint32_t(planes[index]) | (uint32_t(planes[count + index]) << 8) |
                        (uint32_t(planes[2 * count + index]) << 16) |
                        (uint32_t(planes[3 * count + index]) << 24);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Breadth-first order of the nodes reachable from the root. In this order the children of the
// k-th internal node are nodes 2k+1 and 2k+2, so the leaf bits alone encode the tree's shape.
std::vector<int32_t> BreadthFirstOrder(const Tree& tree) {
  std::vector<int32_t> order;
  order.reserve(tree.size());
  order.push_back(0);
  for (size_t i = 0; i < order.size(); ++i) {
    int32_t node = order[i];
    if (!tree.is_leaf(node)) {
      order.push_back(tree.left[node]);
      order.push_back(tree.right[node]);
    }
  }
  return order;
}

// ---- header JSON ----

Json FloatArray(const float* v, size_t n) {
  Json a = Json::array();
  for (size_t i = 0; i < n; ++i) a.push_back(double(v[i]));
  return a;
}
Json DoubleArray(const double* v, size_t n) {
  Json a = Json::array();
  for (size_t i = 0; i < n; ++i) a.push_back(v[i]);
  return a;
}

Json HeaderJson(const Model& model) {
  Json header = Json::object();
  header["format"] = "fetal-health-model-bundle";
  Json features = Json::array();
  for (const FeatureSpec& spec : FeatureSchema()) {
    features.push_back({{"key", std::string(spec.key)}, {"unit", std::string(spec.unit)}});
  }
  header["schema"] = {{"version", kSchemaVersion}, {"features", features}};
  Json classes = Json::array();
  for (std::string_view name : kClassNames) classes.push_back(std::string(name));
  header["classes"] = classes;
  header["model_version"] = model.model_version;
  header["name"] = model.name;
  header["created"] = model.created;
  header["source"] = model.source;
  header["training_data_sha256"] = model.training_data_sha256;
  header["figo_ruleset"] = model.figo_ruleset;
  header["params"] =
      model.params_json.empty() ? Json::object() : Json::parse(model.params_json, nullptr, false);
  const ModelMetrics& m = model.metrics;
  header["metrics"] = {{"accuracy", m.accuracy},
                       {"macro_f1", m.macro_f1},
                       {"balanced_accuracy", m.balanced_accuracy},
                       {"log_loss", m.log_loss},
                       {"brier", m.brier},
                       {"ece", m.ece},
                       {"recall", DoubleArray(m.recall.data(), kNumClasses)},
                       {"splits", m.splits}};
  header["base_score"] = FloatArray(model.base_score.data(), kNumClasses);
  header["temperature"] = model.temperature;
  header["training_range"] = {{"min", FloatArray(model.training_range.min.data(), kNumFeatures)},
                              {"max", FloatArray(model.training_range.max.data(), kNumFeatures)}};
  const OodReference& ood = model.ood;
  header["ood"] = {{"mean", DoubleArray(ood.mean.data(), kNumFeatures)},
                   {"scale", DoubleArray(ood.scale.data(), kNumFeatures)},
                   {"inverse_covariance",
                    DoubleArray(ood.inverse_covariance.data(), ood.inverse_covariance.size())},
                   {"threshold", ood.threshold},
                   {"threshold_quantile", ood.threshold_quantile}};
  // Optional sections (format 2), written only when the model has them.
  Json sections = Json::object();
  if (!model.input_differences.empty()) {
    Json input = Json::array(), reference = Json::array();
    for (const InputDifference& d : model.input_differences) {
      input.push_back(d.input);
      reference.push_back(d.reference);
    }
    sections["inputs"] = {{"version", 1}, {"input", input}, {"reference", reference}};
    // A reader that skipped it would feed the trees the wrong inputs.
    header["required_sections"] = {"inputs"};
  }
  const ConformalSets& sets = model.conformal;
  if (sets.level > 0) {
    sections["conformal"] = {{"version", 1},
                             {"level", sets.level},
                             {"floor", FloatArray(sets.floor.data(), kNumClasses)},
                             {"calibration_rows",
                              {sets.calibration_rows[0], sets.calibration_rows[1],
                               sets.calibration_rows[2]}}};
  }
  if (!model.monitoring_section.empty()) {
    sections["monitoring"] = Json::parse(model.monitoring_section, nullptr, false);
  }
  if (!sections.empty()) header["sections"] = sections;
  return header;
}

// Typed access to the header with messages that name the field. Header numbers that are not
// finite are written by nlohmann as null; CheckModel() keeps those out of written bundles, and
// reading refuses them.
class HeaderReader {
 public:
  const Status& status() const { return status_; }

  FETAL_COLD const Json* Field(const Json& object, const char* parent, const char* key) {
    if (!status_.ok()) return nullptr;
    auto it = object.find(key);
    if (it == object.end()) {
      Fail(std::string("bundle header: missing field '") + Path(parent, key) + "'");
      return nullptr;
    }
    return &*it;
  }
  FETAL_COLD void String(const Json& object, const char* parent, const char* key,
                         std::string* out) {
    const Json* v = Field(object, parent, key);
    if (!v) return;
    if (!v->is_string()) return Fail(TypeError(parent, key, "a string"));
    *out = v->get<std::string>();
  }
  FETAL_COLD void Number(const Json& object, const char* parent, const char* key, double* out) {
    const Json* v = Field(object, parent, key);
    if (!v) return;
    if (!v->is_number()) return Fail(TypeError(parent, key, "a number"));
    *out = v->get<double>();
  }
  FETAL_COLD void Integer(const Json& object, const char* parent, const char* key, int64_t* out) {
    const Json* v = Field(object, parent, key);
    if (!v) return;
    if (!v->is_number_integer()) return Fail(TypeError(parent, key, "an integer"));
    *out = v->get<int64_t>();
  }
  FETAL_COLD const Json* Object(const Json& object, const char* parent, const char* key) {
    const Json* v = Field(object, parent, key);
    if (!v) return nullptr;
    if (!v->is_object()) {
      Fail(TypeError(parent, key, "an object"));
      return nullptr;
    }
    return v;
  }
  template <typename T>
  FETAL_COLD void Numbers(const Json& object, const char* parent, const char* key,
                          size_t expected_size, T* out) {
    const Json* v = Field(object, parent, key);
    if (!v) return;
    if (!v->is_array() || v->size() != expected_size) {
      return Fail(
          TypeError(parent, key, "an array of " + std::to_string(expected_size) + " numbers"));
    }
    for (size_t i = 0; i < expected_size; ++i) {
      if (!(*v)[i].is_number()) {
        return Fail(
            TypeError(parent, key, "an array of " + std::to_string(expected_size) + " numbers"));
      }
      out[i] = T((*v)[i].get<double>());
    }
  }
  FETAL_COLD void Fail(std::string message) {
    if (status_.ok()) status_ = Status::Corruption(std::move(message));
  }

 private:
  static std::string Path(const char* parent, const char* key) {
    return parent[0] ? std::string(parent) + "." + key : std::string(key);
  }
  static std::string TypeError(const char* parent, const char* key, const std::string& expected) {
    return "bundle header: field '" + Path(parent, key) + "' must be " + expected;
  }
  Status status_;
};

FETAL_COLD Status CheckSchema(const Json& header) {
  auto schema = header.find("schema");
  if (schema == header.end() || !schema->is_object()) {
    return Status::Corruption("bundle header: missing object 'schema'");
  }
  auto version = schema->find("version");
  if (version == schema->end() || !version->is_number_integer()) {
    return Status::Corruption("bundle header: 'schema.version' must be an integer");
  }
  if (version->get<int64_t>() != kSchemaVersion) {
    return Status::Unsupported("bundle uses feature schema version " +
                               std::to_string(version->get<int64_t>()) +
                               "; this build supports version " + std::to_string(kSchemaVersion));
  }
  auto features = schema->find("features");
  if (features == schema->end() || !features->is_array()) {
    return Status::Corruption("bundle header: 'schema.features' must be an array");
  }
  if (features->size() != size_t(kNumFeatures)) {
    return Status::Unsupported("bundle has " + std::to_string(features->size()) +
                               " features; this build expects " + std::to_string(kNumFeatures));
  }
  for (int i = 0; i < kNumFeatures; ++i) {
    const Json& f = (*features)[i];
    auto key = f.is_object() ? f.find("key") : f.end();
    if (!f.is_object() || key == f.end() || !key->is_string()) {
      return Status::Corruption("bundle header: 'schema.features[" + std::to_string(i) +
                                "].key' must be a string");
    }
    const std::string_view expected = FeatureSchema()[i].key;
    if (key->get<std::string>() != expected) {
      return Status::Unsupported("bundle feature " + std::to_string(i) + " is '" +
                                 key->get<std::string>() + "', this build expects '" +
                                 std::string(expected) + "' (different feature schema)");
    }
  }
  auto classes = header.find("classes");
  if (classes == header.end() || !classes->is_array() || classes->size() != size_t(kNumClasses)) {
    return Status::Unsupported("bundle header: 'classes' must list the " +
                               std::to_string(kNumClasses) + " classes");
  }
  for (int c = 0; c < kNumClasses; ++c) {
    if (!(*classes)[c].is_string() || (*classes)[c].get<std::string>() != kClassNames[c]) {
      return Status::Unsupported("bundle class " + std::to_string(c) + " must be '" +
                                 std::string(kClassNames[c]) + "'");
    }
  }
  return Status::Ok();
}

// Optional sections (format 2): "sections" maps a name to an object with an integer "version";
// a section this build does not read (name or version) is skipped, unless its name is listed in
// "required_sections". No iteration over the object: the known names are looked up.
FETAL_COLD int64_t SectionVersion(const Json& sections, const char* name, const Json** section) {
  auto it = sections.find(name);  // end() when `sections` is not an object
  if (it == sections.end() || !it->is_object()) return 0;
  auto version = it->find("version");
  *section = &*it;
  return version != it->end() && version->is_number_integer() ? version->get<int64_t>() : 0;
}

FETAL_COLD Status ParseSections(const Json& header, Model* model) {
  HeaderReader r;
  const Json* section = nullptr;
  bool have_inputs = false, have_conformal = false;
  auto sections = header.find("sections");
  if (sections != header.end()) {
    if (!sections->is_object())
      return Status::Corruption("bundle header: 'sections' must be an object");
    if (SectionVersion(*sections, "inputs", &section) == 1) {
      have_inputs = true;
      auto input = section->find("input");
      const size_t n = input != section->end() && input->is_array() ? input->size() : 0;
      // Each feature is re-expressed at most once, so there are at most kNumFeatures pairs.
      double pairs[2][kNumFeatures];
      if (n > size_t(kNumFeatures)) r.Fail("bundle header: too many 'sections.inputs'");
      r.Numbers(*section, "sections.inputs", "input", n, pairs[0]);
      r.Numbers(*section, "sections.inputs", "reference", n, pairs[1]);
      model->input_differences.resize(r.status().ok() ? n : 0);
      for (size_t i = 0; i < model->input_differences.size(); ++i) {
        // Feature indices; anything else is refused before the integer conversion.
        if (!(pairs[0][i] >= 0 && pairs[0][i] < kNumFeatures && pairs[1][i] >= 0 &&
              pairs[1][i] < kNumFeatures)) {
          return Status::Corruption("bundle header: 'sections.inputs' must hold feature indices");
        }
        model->input_differences[i] = {int32_t(pairs[0][i]), int32_t(pairs[1][i])};
      }
    }
    if (SectionVersion(*sections, "conformal", &section) == 1) {
      have_conformal = true;
      ConformalSets& sets = model->conformal;
      double rows[kNumClasses] = {};
      r.Number(*section, "sections.conformal", "level", &sets.level);
      r.Numbers(*section, "sections.conformal", "floor", kNumClasses, sets.floor.data());
      r.Numbers(*section, "sections.conformal", "calibration_rows", kNumClasses, rows);
      for (int c = 0; c < kNumClasses; ++c) {
        if (!(rows[c] >= 0 && rows[c] < 1e15)) rows[c] = -1;  // CheckModel refuses it
        sets.calibration_rows[c] = int64_t(rows[c]);
      }
    }
  }
  auto required = header.find("required_sections");
  if (required != header.end() && required->is_array()) {
    for (const Json& name : *required) {
      const std::string* text = name.get_ptr<const std::string*>();  // null unless a string
      if (!(text && *text == "inputs" && have_inputs) &&
          !(text && *text == "conformal" && have_conformal)) {
        return Status::Unsupported(
            "bundle needs a section this build does not read (required_sections)");
      }
    }
  }
  return r.status();
}

// Whether the body of a JSON string (between its quotes, escapes undone as a JSON parser undoes
// them) is the ASCII text `key`. Only \uXXXX can stand for a letter or digit; the other escapes
// stand for quotes, slashes and control characters.
FETAL_COLD bool KeyIs(std::string_view body, std::string_view key) {
  size_t k = 0;
  for (size_t i = 0; i < body.size(); ++i, ++k) {
    unsigned c = static_cast<unsigned char>(body[i]);
    if (c == '\\') {
      c = static_cast<unsigned char>(body[++i]);
      if (c == 'u') {
        unsigned code = 0;
        for (size_t end = i + 4; i < end;) {
          const char h = body[++i] | 0x20;  // lower case
          code = 16 * code + unsigned(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        c = code;
      } else if (c != '"' && c != '/' && c != '\\') {
        c = 0;  // \b \f \n \r \t: control characters
      }
    }
    if (k == key.size() || c != static_cast<unsigned char>(key[k])) return false;
  }
  return k == key.size();
}

// The text of the object that member `key` of the JSON object `text` holds, as the bundle writes
// it; of the last such member, the one the parser keeps. Empty if no member `key` holds an object.
// Kept as written rather than serialized again from the parsed value: WriteBundle writes it in
// nlohmann's compact form, which serializing would give again, and the WebAssembly module then
// needs no JSON serializer (~2.8 KB gzipped, compiled on first use during a cold load).
// Precondition: `text` parsed as a JSON object.
FETAL_COLD std::string_view ObjectMemberText(std::string_view text, std::string_view key) {
  std::string_view found;
  int depth = 0;
  bool expect_key = false, matched = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      const size_t first = ++i;
      for (; i < text.size() && text[i] != '"'; ++i) i += text[i] == '\\';
      if (depth == 1 && expect_key) matched = KeyIs(text.substr(first, i - first), key);
      expect_key = false;
    } else if (c == '{' || c == '[') {
      ++depth;
      if (depth == 2 && matched) start = i;
      expect_key = depth == 1;
    } else if (c == '}' || c == ']') {
      if (depth-- == 2 && matched) found = text.substr(start, i + 1 - start);
    } else if (c == ',' && depth == 1) {
      expect_key = true;
      matched = false;
    }
  }
  return found;
}

FETAL_COLD Status ParseHeader(std::string_view text, Model* model) {
  // Parsed from a std::string like every other JSON text of the library (params, XGBoost
  // models): one instantiation of nlohmann's parser in the WebAssembly build, not two.
  Json header = Json::parse(std::string(text), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return Status::Corruption("bundle header is not a JSON object");
  }
  Status s = CheckSchema(header);
  if (!s.ok()) return s;

  HeaderReader r;
  r.Integer(header, "", "model_version", &model->model_version);
  r.String(header, "", "name", &model->name);
  r.String(header, "", "created", &model->created);
  r.String(header, "", "source", &model->source);
  r.String(header, "", "training_data_sha256", &model->training_data_sha256);
  r.String(header, "", "figo_ruleset", &model->figo_ruleset);
  if (r.Object(header, "", "params")) model->params_json = ObjectMemberText(text, "params");
  if (const Json* m = r.Object(header, "", "metrics")) {
    ModelMetrics& metrics = model->metrics;
    r.Number(*m, "metrics", "accuracy", &metrics.accuracy);
    r.Number(*m, "metrics", "macro_f1", &metrics.macro_f1);
    r.Number(*m, "metrics", "balanced_accuracy", &metrics.balanced_accuracy);
    r.Number(*m, "metrics", "log_loss", &metrics.log_loss);
    r.Number(*m, "metrics", "brier", &metrics.brier);
    r.Number(*m, "metrics", "ece", &metrics.ece);
    r.Numbers(*m, "metrics", "recall", kNumClasses, metrics.recall.data());
    int64_t splits = 0;
    r.Integer(*m, "metrics", "splits", &splits);
    metrics.splits = int(splits);
  }
  r.Numbers(header, "", "base_score", kNumClasses, model->base_score.data());
  r.Number(header, "", "temperature", &model->temperature);
  if (const Json* range = r.Object(header, "", "training_range")) {
    r.Numbers(*range, "training_range", "min", kNumFeatures, model->training_range.min.data());
    r.Numbers(*range, "training_range", "max", kNumFeatures, model->training_range.max.data());
  }
  if (const Json* ood = r.Object(header, "", "ood")) {
    OodReference& ref = model->ood;
    r.Numbers(*ood, "ood", "mean", kNumFeatures, ref.mean.data());
    r.Numbers(*ood, "ood", "scale", kNumFeatures, ref.scale.data());
    const Json* inv = r.Field(*ood, "ood", "inverse_covariance");
    if (inv) {
      // Empty for models that carry no OOD reference (e.g. a bare import).
      size_t n = inv->is_array() ? inv->size() : 0;
      if (n != 0 && n != size_t(kNumFeatures * kNumFeatures)) {
        r.Fail("bundle header: field 'ood.inverse_covariance' must hold 0 or " +
               std::to_string(kNumFeatures * kNumFeatures) + " numbers");
      } else {
        ref.inverse_covariance.assign(n, 0.0);
        r.Numbers(*ood, "ood", "inverse_covariance", n, ref.inverse_covariance.data());
      }
    }
    r.Number(*ood, "ood", "threshold", &ref.threshold);
    r.Number(*ood, "ood", "threshold_quantile", &ref.threshold_quantile);
  }
  if (!r.status().ok()) return r.status();
  return ParseSections(header, model);
}

// A float's bits mapped so that unsigned order is numeric order (-0 just below +0).
uint32_t OrderKey(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits ^ ((bits >> 31) ? 0xffffffffu : 0x80000000u);
}

}  // namespace

std::vector<uint8_t> WriteBundle(const Model& model) {
  const std::string header = HeaderJson(model).dump(-1, ' ', false, Json::error_handler_t::replace);
  std::vector<std::vector<int32_t>> orders;
  orders.reserve(model.trees.size());
  size_t node_count = 0;
  for (const Tree& tree : model.trees) {
    orders.push_back(BreadthFirstOrder(tree));
    node_count += orders.back().size();
  }
  // Each feature's distinct thresholds, ascending; splits refer to them by index.
  std::vector<std::vector<uint32_t>> table(kNumFeatures);  // order keys
  std::vector<float> leaves, leaf_covers;
  for (size_t t = 0; t < model.trees.size(); ++t) {
    const Tree& tree = model.trees[t];
    for (int32_t node : orders[t]) {
      if (tree.is_leaf(node)) {
        leaves.push_back(tree.value[node]);
        leaf_covers.push_back(tree.cover[node]);
      } else {
        table[tree.feature[node]].push_back(OrderKey(tree.value[node]));
      }
    }
  }
  size_t threshold_count = 0;
  for (auto& keys : table) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    threshold_count += keys.size();
  }

  std::vector<uint8_t> out;
  out.reserve(kPrefixSize + header.size() + 3 * model.trees.size() + 3 * node_count +
              2 * kNumFeatures + 4 * threshold_count + 8 * leaves.size() + kHashSize);
  for (uint8_t b : kMagic) out.push_back(b);
  PutU32(&out, uint32_t(kBundleFormatVersion));
  PutU32(&out, uint32_t(header.size()));
  PutU32(&out, uint32_t(model.trees.size()));
  PutU32(&out, uint32_t(node_count));
  PutU32(&out, uint32_t(leaves.size()));
  PutU32(&out, uint32_t(threshold_count));
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& order : orders) PutU16(&out, uint32_t(order.size()));
  for (const Tree& tree : model.trees) out.push_back(uint8_t(tree.target_class));
  // Struct-of-arrays, each array over all trees: similar bytes sit together and gzip well.
  std::vector<uint16_t> threshold_index;
  for (size_t t = 0; t < model.trees.size(); ++t) {
    const Tree& tree = model.trees[t];
    for (int32_t node : orders[t]) {
      if (tree.is_leaf(node)) {
        out.push_back(kLeafBit);
        continue;
      }
      out.push_back(uint8_t(tree.feature[node] | (tree.default_left[node] ? kDefaultLeftBit : 0)));
      const auto& keys = table[tree.feature[node]];
      threshold_index.push_back(uint16_t(
          std::lower_bound(keys.begin(), keys.end(), OrderKey(tree.value[node])) - keys.begin()));
    }
  }
  for (const auto& keys : table) PutU16(&out, uint32_t(keys.size()));
  for (const auto& keys : table) {
    for (uint32_t key : keys) {
      const uint32_t bits = key ^ ((key >> 31) ? 0x80000000u : 0xffffffffu);
      PutU32(&out, bits);
    }
  }
  for (int plane = 0; plane < 2; ++plane) {
    for (uint16_t index : threshold_index) out.push_back(uint8_t(index >> (8 * plane)));
  }
  PutF32Planes(&out, leaves);
  PutF32Planes(&out, leaf_covers);
  auto digest = Sha256Digest(out.data(), out.size());
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

namespace {

// The node arrays of a bundle, and where the next tree's nodes, split and leaf are read from.
struct TreePlanes {
  const uint8_t* info;
  const uint8_t* index_planes;
  const uint8_t* leaf_planes;
  const uint8_t* cover_planes;
  const uint8_t* table;
  const uint64_t* table_start;
  uint64_t split_count;
  uint64_t leaf_count;
  uint64_t node_count;
  uint64_t next_node = 0;
  uint64_t next_split = 0;
  uint64_t next_leaf = 0;
};

// Tree t, its n nodes the next ones in `planes` (which advance past them). A function of its
// own, called per tree, rather than the body of ReadBundle's loop: the WebAssembly engine can
// then switch to optimized code for it part-way through a cold load, which it cannot do inside
// a running loop.
__attribute__((noinline)) Status DecodeTree(TreePlanes& planes, uint64_t t, uint32_t n,
                                            uint8_t target_class, Tree* out) {
  // Built only on failure: 900 string allocations are a visible part of a cold load.
  const auto where = [t] { return "bundle tree " + std::to_string(t); };
  if (n == 0 || planes.next_node + n > planes.node_count) {
    return Status::Corruption(where() + ": node count " + std::to_string(n) +
                              " does not fit the node arrays");
  }
  Tree& tree = *out;
  tree.target_class = target_class;
  tree.left.assign(n, -1);
  tree.right.assign(n, -1);
  tree.feature.assign(n, 0);
  tree.value.resize(n);
  tree.default_left.assign(n, 0);
  tree.cover.resize(n);
  const uint8_t* info = planes.info + planes.next_node;
  uint32_t internal = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t b = info[i];
    if (b == kLeafBit) {
      tree.value[i] = GetF32Plane(planes.leaf_planes, planes.leaf_count, planes.next_leaf);
      tree.cover[i] = GetF32Plane(planes.cover_planes, planes.leaf_count, planes.next_leaf);
      ++planes.next_leaf;
      continue;
    }
    if ((b & kLeafBit) || (b & kFeatureMask) >= kNumFeatures) {
      return Status::Corruption(where() + " node " + std::to_string(i) + ": bad node byte " +
                                std::to_string(b));
    }
    const int feature = b & kFeatureMask;
    const uint8_t* index_bytes = planes.index_planes + planes.next_split;
    const uint64_t index =
        uint64_t(index_bytes[0]) | (uint64_t(index_bytes[planes.split_count]) << 8);
    ++planes.next_split;
    if (planes.table_start[feature] + index >= planes.table_start[feature + 1]) {
      return Status::Corruption(where() + " node " + std::to_string(i) + ": threshold index " +
                                std::to_string(index) + " is past feature " +
                                std::to_string(feature) + "'s table");
    }
    tree.value[i] = GetF32(planes.table + 4 * (planes.table_start[feature] + index));
    const uint32_t left = 2 * internal + 1;
    ++internal;
    if (left <= i || left + 1 >= n) {
      return Status::Corruption(where() + ": node " + std::to_string(i) +
                                " has children outside the tree");
    }
    tree.left[i] = int32_t(left);
    tree.right[i] = int32_t(left + 1);
    tree.feature[i] = feature;
    tree.default_left[i] = (b & kDefaultLeftBit) ? 1 : 0;
  }
  if (n != 2 * internal + 1) {
    return Status::Corruption(where() + ": " + std::to_string(internal) + " split nodes need " +
                              std::to_string(2 * internal + 1) + " nodes, found " +
                              std::to_string(n));
  }
  // A split's cover is the sum of its children's; children come after their parent.
  for (uint32_t i = n; i-- > 0;) {
    if (tree.left[i] >= 0) tree.cover[i] = tree.cover[tree.left[i]] + tree.cover[tree.right[i]];
  }
  planes.next_node += n;
  return Status::Ok();
}

}  // namespace

Status ReadBundle(const uint8_t* data, size_t size, Model* out, const BundleReadOptions& options) {
  if (size < 4 || std::memcmp(data, kMagic, 4) != 0) {
    if (size < 4 && (size == 0 || std::memcmp(data, kMagic, size) == 0)) {
      return Status::Corruption("bundle is truncated: " + std::to_string(size) + " bytes");
    }
    return Status::Corruption("not a model bundle: the file does not start with \"FHMB\"");
  }
  if (size < 8)
    return Status::Corruption("bundle is truncated: " + std::to_string(size) + " bytes");
  const uint32_t version = GetU32(data + 4);
  if (version < 1 || version > uint32_t(kBundleFormatVersion)) {
    return Status::Unsupported("bundle format version " + std::to_string(version) +
                               " is not supported; this build reads versions 1 to " +
                               std::to_string(kBundleFormatVersion));
  }
  if (size < kPrefixSize) {
    return Status::Corruption("bundle is truncated: " + std::to_string(size) + " bytes");
  }
  const uint64_t header_size = GetU32(data + 8);
  const uint64_t tree_count = GetU32(data + 12);
  const uint64_t node_count = GetU32(data + 16);
  const uint64_t leaf_count = GetU32(data + 20);
  const uint64_t threshold_count = GetU32(data + 24);
  if (leaf_count > node_count) {
    return Status::Corruption("bundle claims " + std::to_string(leaf_count) + " leaves among " +
                              std::to_string(node_count) + " nodes");
  }
  const uint64_t split_count = node_count - leaf_count;
  const uint64_t expected = kPrefixSize + header_size + 3 * tree_count + node_count +
                            2 * kNumFeatures + 4 * threshold_count + 2 * split_count +
                            8 * leaf_count + kHashSize;
  if (size < expected) {
    return Status::Corruption("bundle is truncated: " + std::to_string(size) + " bytes, the " +
                              "length fields call for " + std::to_string(expected));
  }
  if (size > expected) {
    return Status::Corruption("bundle has " + std::to_string(size - expected) +
                              " unexpected bytes after its content hash");
  }
  const size_t content_size = size - kHashSize;
  if (options.verify_content_hash) {
    const auto actual = Sha256Digest(data, content_size);
    if (std::memcmp(actual.data(), data + content_size, kHashSize) != 0) {
      return Status::Corruption("bundle content hash mismatch: expected " +
                                ToHex(data + content_size, kHashSize) + ", content hashes to " +
                                ToHex(actual.data(), kHashSize));
    }
  }

  *out = Model();
  out->format_version = int32_t(version);
  const uint8_t* p = data + kPrefixSize;
  Status s =
      ParseHeader(std::string_view(reinterpret_cast<const char*>(p), size_t(header_size)), out);
  if (!s.ok()) return s;
  p += header_size;

  const uint8_t* node_counts = p;
  const uint8_t* classes = node_counts + 2 * tree_count;
  const uint8_t* info = classes + tree_count;
  const uint8_t* table_sizes = info + node_count;
  const uint8_t* table = table_sizes + 2 * kNumFeatures;
  const uint8_t* index_planes = table + 4 * threshold_count;
  const uint8_t* leaf_planes = index_planes + 2 * split_count;
  const uint8_t* cover_planes = leaf_planes + 4 * leaf_count;

  uint64_t actual_leaves = 0;
  for (uint64_t i = 0; i < node_count; ++i) actual_leaves += info[i] == kLeafBit;
  if (actual_leaves != leaf_count) {
    return Status::Corruption("bundle has " + std::to_string(actual_leaves) +
                              " leaf nodes, its prefix says " + std::to_string(leaf_count));
  }
  uint64_t table_start[kNumFeatures + 1] = {0};
  for (int f = 0; f < kNumFeatures; ++f) {
    table_start[f + 1] = table_start[f] + GetU16(table_sizes + 2 * f);
  }
  if (table_start[kNumFeatures] != threshold_count) {
    return Status::Corruption("bundle threshold table sizes add up to " +
                              std::to_string(table_start[kNumFeatures]) + ", its prefix says " +
                              std::to_string(threshold_count));
  }

  TreePlanes planes{info,        index_planes, leaf_planes, cover_planes, table,
                    table_start, split_count,  leaf_count,  node_count};
  out->trees.resize(tree_count);
  for (uint64_t t = 0; t < tree_count; ++t) {
    s = DecodeTree(planes, t, GetU16(node_counts + 2 * t), classes[t], &out->trees[t]);
    if (!s.ok()) return s;
  }
  if (planes.next_node != node_count) {
    return Status::Corruption("bundle node count " + std::to_string(node_count) +
                              " does not match the trees' " + std::to_string(planes.next_node));
  }
  // Its params text is the header's "params" object as written, which the parser accepted.
  return internal::CheckModelExceptParams(*out);
}

std::string BundleContentHash(const uint8_t* data, size_t size) {
  if (size < kHashSize) return std::string();
  return ToHex(data + size - kHashSize, kHashSize);
}

}  // namespace fetal
