#include "model_registry.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "fetal/bundle.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "text/number_text.h"

namespace fetal {
namespace server {

using storage::StoreStatus;

ModelRegistry::ModelRegistry(storage::Store* store, std::string public_key_pem,
                             std::chrono::milliseconds active_ttl)
    : store_(store), public_key_pem_(std::move(public_key_pem)), active_ttl_(active_ttl) {}

StoreStatus ModelRegistry::CheckStored(const storage::ModelRecord& record) const {
  const std::string name = "model version " + std::to_string(record.version);
  if (Sha256Hex(record.bundle.data(), record.bundle.size()) != record.sha256) {
    return StoreStatus::Corruption("the stored bundle of " + name +
                                   " does not match its stored SHA-256");
  }
  if (public_key_pem_.empty()) return StoreStatus::Ok();
  if (record.signature.empty()) {
    return StoreStatus::Corruption(name +
                                   " is unsigned, and this server only uses bundles signed "
                                   "with --model-pubkey");
  }
  Status v = VerifyBundle(public_key_pem_, reinterpret_cast<const uint8_t*>(record.bundle.data()),
                          record.bundle.size(), record.signature);
  if (!v.ok()) {
    return StoreStatus::Corruption("the stored signature of " + name +
                                   " does not verify with --model-pubkey: " + v.message());
  }
  return StoreStatus::Ok();
}

StoreStatus ModelRegistry::Get(int64_t version, ModelVersion* out) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loaded_.find(version);
    if (it != loaded_.end()) {
      *out = it->second;
      return StoreStatus::Ok();
    }
  }
  return Load(version, out);
}

StoreStatus ModelRegistry::Reload(int64_t version, ModelVersion* out) {
  ModelVersion fresh;
  StoreStatus s = Load(version, &fresh);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  loaded_[version] = fresh;
  *out = std::move(fresh);
  return StoreStatus::Ok();
}

StoreStatus ModelRegistry::Load(int64_t version, ModelVersion* out) {
  // Load outside the lock: a slow database must not stall requests for cached versions.
  storage::ModelRecord record;
  StoreStatus s = store_->GetModel(version, &record);
  if (!s.ok()) return s;
  s = CheckStored(record);
  if (!s.ok()) return s;
  Model model;
  Status parsed = ReadBundle(reinterpret_cast<const uint8_t*>(record.bundle.data()),
                             record.bundle.size(), &model);
  if (!parsed.ok()) {
    return StoreStatus::Corruption("stored bundle of model version " + std::to_string(version) +
                                   " does not load: " + parsed.ToString());
  }
  std::unique_ptr<Classifier> classifier;
  Status created = Classifier::Create(std::move(model), &classifier);
  if (!created.ok()) {
    return StoreStatus::Corruption("model version " + std::to_string(version) +
                                   " cannot be evaluated: " + created.ToString());
  }
  auto reference = monitoring::ReferenceOfBundle(record.bundle);
  ModelVersion loaded{version, record.sha256, std::move(classifier), std::move(reference)};
  std::lock_guard<std::mutex> lock(mu_);
  // Another request may have loaded it meanwhile; everyone uses the first one kept.
  *out = loaded_.emplace(version, std::move(loaded)).first->second;
  return StoreStatus::Ok();
}

StoreStatus ModelRegistry::Active(std::shared_ptr<const storage::ModelRecord>* out) {
  auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const storage::ModelRecord> previous;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ && now - active_fetched_ < active_ttl_) {
      *out = active_;
      return StoreStatus::Ok();
    }
    previous = active_;
    generation = active_generation_;
  }
  auto record = std::make_shared<storage::ModelRecord>();
  StoreStatus s = store_->GetActiveModel(record.get());
  if (!s.ok()) return s;
  // Re-read every few seconds; checked again only when the bytes or signature changed.
  const bool same = previous && previous->version == record->version &&
                    previous->sha256 == record->sha256 &&
                    previous->signature == record->signature && previous->bundle == record->bundle;
  if (!same) {
    s = CheckStored(*record);
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // An invalidation since the read above means another version may have become active after
  // this record was read: return it to this caller (its request began before the activation
  // finished) but do not cache it, or it would be served until the TTL ran out.
  if (active_generation_ == generation) {
    active_ = record;
    active_fetched_ = now;
  }
  *out = std::move(record);
  return StoreStatus::Ok();
}

void ModelRegistry::InvalidateActive() {
  std::lock_guard<std::mutex> lock(mu_);
  active_.reset();
  ++active_generation_;
}

bool ModelRegistry::CheckUpload(const std::string& bundle, const std::string& signature,
                                std::unique_ptr<Classifier>* classifier, UploadRefusal* why) const {
  if (public_key_pem_.empty()) {
    *why = {403, "uploads_disabled",
            "model uploads are disabled: the server was started without --model-pubkey", ""};
    return false;
  }
  if (signature.empty()) {
    *why = {422, "signature_missing",
            "the X-Model-Signature header is missing; send the bundle's detached signature "
            "(base64 of the 64-byte ECDSA P-256 r||s form, as `fetal-model sign` writes it)",
            "X-Model-Signature"};
    return false;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bundle.data());
  Status verified = VerifyBundle(public_key_pem_, data, bundle.size(), signature);
  if (!verified.ok()) {
    *why = {422, "signature_invalid",
            "the bundle's signature does not verify against the server's model public key: " +
                verified.message(),
            "X-Model-Signature"};
    return false;
  }
  Model model;
  Status parsed = ReadBundle(data, bundle.size(), &model);
  if (!parsed.ok()) {
    *why = {422, "bundle_invalid", "the bundle does not load: " + parsed.ToString(), "body"};
    return false;
  }
  Status tested = SelfTest(std::move(model), classifier);
  if (!tested.ok()) {
    *why = {422, "self_test_failed", "the bundle failed the self-test: " + tested.message(),
            "body"};
    return false;
  }
  return true;
}

Status ModelRegistry::SelfTest(Model model, std::unique_ptr<Classifier>* out) {
  // Rows of the dataset, one per class (Normal, Suspect, Pathological); all pass the validator.
  static const float kExams[3][kNumFeatures] = {
      {131, 0.005f, 0.072f, 0.008f, 0.003f, 0,   0,   28,  1.4f, 0, 12.9f,
       66,  88,     154,    5,      0,      135, 134, 137, 7,    1},
      {120, 0, 0, 0, 0, 0, 0, 73, 0.5f, 43, 2.4f, 64, 62, 126, 2, 0, 120, 137, 121, 73, 1},
      {134, 0.001f, 0,   0.01f, 0.009f, 0,   0,   26,  1.2f, 0, 0,
       150, 50,     200, 5,     0,      139, 107, 107, 7,    0},
  };
  // float32 softmax outputs sum to 1 within a few ulps; anything further off is a broken model.
  constexpr double kSumTolerance = 1e-4;
  std::unique_ptr<Classifier> classifier;
  Status s = Classifier::Create(std::move(model), &classifier);
  if (!s.ok()) return s;
  ClassifyOptions options;
  options.explain = false;
  for (int e = 0; e < 3; ++e) {
    const std::string exam = "self-test exam " + std::to_string(e + 1);
    Classification c;
    classifier->Classify(kExams[e], options, &c);
    if (!c.classified) {
      std::string why;
      for (const Finding& f : c.findings) {
        if (f.severity == Severity::kError && why.empty()) why = f.message;
      }
      return Status::InvalidArgument(exam + " is refused by the validator: " + why);
    }
    for (const auto* p : {&c.probabilities, &c.raw_probabilities}) {
      double sum = 0;
      for (int k = 0; k < kNumClasses; ++k) {
        if (!std::isfinite((*p)[k]) || (*p)[k] < 0 || (*p)[k] > 1) {
          return Status::InvalidArgument(exam + " gives probability " + text::Readable((*p)[k]) +
                                         " for class " + std::to_string(k) +
                                         "; expected a finite value in [0, 1]");
        }
        sum += (*p)[k];
      }
      if (std::fabs(sum - 1.0) > kSumTolerance) {
        return Status::InvalidArgument(exam + " gives probabilities summing to " +
                                       text::Readable(sum) + "; expected 1");
      }
    }
  }
  *out = std::move(classifier);
  return Status::Ok();
}

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    *error = "cannot read " + path;
    return false;
  }
  *out = buf.str();
  return true;
}

}  // namespace server
}  // namespace fetal
