#include "fetal/monitoring_reference.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace fetal {
namespace {

using Json = nlohmann::json;

constexpr int kSectionVersion = 1;
constexpr size_t kHeaderOffset = 28;  // after magic, version, H, T, N, L, U

// Counts are whole numbers: written as integers, so the section stays small.
Json BinsJson(const ReferenceBins& b) {
  Json counts = Json::array();
  for (double c : b.counts) counts.push_back(static_cast<int64_t>(std::llround(c)));
  return {{"edges", b.edges}, {"counts", counts}};
}

bool ReadBins(const Json& j, ReferenceBins* out) {
  if (!j.is_object() || !j.contains("edges") || !j.contains("counts")) return false;
  const Json& e = j["edges"];
  const Json& c = j["counts"];
  if (!e.is_array() || !c.is_array() || c.size() != e.size() + 1 ||
      c.size() > static_cast<size_t>(kMonitoringBins)) {
    return false;
  }
  out->edges.clear();
  out->counts.clear();
  for (const Json& v : e) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) return false;
    if (!out->edges.empty() && v.get<double>() <= out->edges.back()) return false;
    out->edges.push_back(v.get<double>());
  }
  for (const Json& v : c) {
    if (!v.is_number() || !(v.get<double>() >= 0)) return false;
    out->counts.push_back(v.get<double>());
  }
  return true;
}

bool ReadClasses(const Json& j, std::array<double, kNumClasses>* out) {
  if (!j.is_array() || j.size() != kNumClasses) return false;
  for (int k = 0; k < kNumClasses; ++k) {
    if (!j[k].is_number() || !(j[k].get<double>() >= 0)) return false;
    (*out)[k] = j[k].get<double>();
  }
  return true;
}

uint32_t U32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

int BinOf(const ReferenceBins& bins, double value) {
  return static_cast<int>(std::upper_bound(bins.edges.begin(), bins.edges.end(), value) -
                          bins.edges.begin());
}

ReferenceBins DecileBins(std::vector<double> values) {
  ReferenceBins b;
  if (values.empty()) {
    b.counts = {0};
    return b;
  }
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  for (int q = 1; q < kMonitoringBins; ++q) {
    const double cut = values[std::min(n - 1, n * q / kMonitoringBins)];
    if (cut > values.front() && (b.edges.empty() || cut > b.edges.back())) b.edges.push_back(cut);
  }
  b.counts.assign(b.edges.size() + 1, 0);
  for (double v : values) b.counts[BinOf(b, v)] += 1;
  return b;
}

Status FitMonitoringReference(const float* features, const int* labels,
                              const float* oof_probabilities, const std::vector<double>& ood,
                              size_t n, MonitoringReference* out) {
  if (n == 0) return Status::InvalidArgument("no training rows for the monitoring reference");
  MonitoringReference r;
  r.rows = static_cast<int64_t>(n);
  std::vector<double> column(n);
  for (int i = 0; i < kNumFeatures; ++i) {
    for (size_t row = 0; row < n; ++row) {
      column[row] = features[row * kNumFeatures + i];
      if (!std::isfinite(column[row])) {
        return Status::InvalidArgument("feature " + std::string(FeatureSchema()[i].key) +
                                       " of training row " + std::to_string(row) +
                                       " is not finite");
      }
    }
    r.features[i] = DecileBins(column);
  }
  std::vector<double> top(n);
  for (size_t row = 0; row < n; ++row) {
    const float* p = oof_probabilities + row * kNumClasses;
    const int predicted = static_cast<int>(std::max_element(p, p + kNumClasses) - p);
    r.predicted_class_mix[predicted] += 1.0 / n;
    top[row] = p[predicted];
    if (labels[row] >= 0 && labels[row] < kNumClasses) r.class_prior[labels[row]] += 1.0 / n;
  }
  r.top_probability = DecileBins(top);
  if (!ood.empty()) r.ood_distance = DecileBins(ood);
  *out = std::move(r);
  return Status::Ok();
}

std::string MonitoringReferenceToJson(const MonitoringReference& r) {
  Json features = Json::array();
  for (int i = 0; i < kNumFeatures; ++i) {
    Json f = BinsJson(r.features[i]);
    f["key"] = std::string(FeatureSchema()[i].key);
    features.push_back(std::move(f));
  }
  Json j = {{"version", kSectionVersion},
            {"rows", r.rows},
            {"features", features},
            {"class_prior", r.class_prior},
            {"predicted_class_mix", r.predicted_class_mix},
            {"top_probability", BinsJson(r.top_probability)}};
  if (!r.ood_distance.counts.empty()) j["ood_distance"] = BinsJson(r.ood_distance);
  return j.dump();
}

Status MonitoringReferenceFromJson(const std::string& text, MonitoringReference* out) {
  const Json j = Json::parse(text, nullptr, false);
  auto bad = [](const std::string& field) {
    return Status::Corruption("sections.monitoring." + field + " is malformed");
  };
  if (!j.is_object()) return bad("(the section)");
  if (!j.contains("version") || j["version"] != kSectionVersion) return bad("version");
  MonitoringReference r;
  if (!j.contains("rows") || !j["rows"].is_number_integer()) return bad("rows");
  r.rows = j["rows"].get<int64_t>();
  if (!j.contains("features") || !j["features"].is_array() ||
      j["features"].size() != static_cast<size_t>(kNumFeatures)) {
    return bad("features");
  }
  for (int i = 0; i < kNumFeatures; ++i) {
    const Json& f = j["features"][i];
    if (!ReadBins(f, &r.features[i]) || !f.contains("key") ||
        f["key"] != std::string(FeatureSchema()[i].key)) {
      return bad("features[" + std::to_string(i) + "]");
    }
  }
  if (!j.contains("class_prior") || !ReadClasses(j["class_prior"], &r.class_prior)) {
    return bad("class_prior");
  }
  if (!j.contains("predicted_class_mix") ||
      !ReadClasses(j["predicted_class_mix"], &r.predicted_class_mix)) {
    return bad("predicted_class_mix");
  }
  if (!j.contains("top_probability") || !ReadBins(j["top_probability"], &r.top_probability)) {
    return bad("top_probability");
  }
  if (j.contains("ood_distance") && !ReadBins(j["ood_distance"], &r.ood_distance)) {
    return bad("ood_distance");
  }
  *out = std::move(r);
  return Status::Ok();
}

Status MonitoringReferenceFromBundle(const uint8_t* data, size_t size, MonitoringReference* out,
                                     bool* found) {
  *found = false;
  if (size < kHeaderOffset) return Status::Corruption("not a model bundle");
  const uint32_t header_size = U32(data + 8);
  if (header_size > size - kHeaderOffset) return Status::Corruption("truncated bundle header");
  const Json header =
      Json::parse(data + kHeaderOffset, data + kHeaderOffset + header_size, nullptr, false);
  if (!header.is_object()) return Status::Corruption("the bundle header is not a JSON object");
  auto sections = header.find("sections");
  if (sections == header.end() || !sections->is_object()) return Status::Ok();
  auto section = sections->find("monitoring");
  if (section == sections->end()) return Status::Ok();
  // A later version of the section is skipped, as every reader skips what it does not know.
  if (!section->is_object() || section->value("version", 0) != kSectionVersion) return Status::Ok();
  Status s = MonitoringReferenceFromJson(section->dump(), out);
  if (s.ok()) *found = true;
  return s;
}

}  // namespace fetal
