// ModelRegistry: the HTTP layer's view of the models in the store.
//
// - One fetal::Classifier per registry version, built once from the stored bundle and kept for
//   the life of the process (bundles are immutable once stored, so a cached classifier never
//   goes stale). Several versions may be in use at once: each exam is re-classified with the
//   version its client states.
// - The active model, cached for `active_ttl` so several instances on one database all serve a
//   newly activated version within that time.
// - Upload checks: signature against the configured public key, ReadBundle, and a self-test.
// - Signed means signed: with a public key configured, every bundle read from the database is
//   verified against it before it is used (cache fill, the active model, activation), so a
//   bundle written into the database behind the server's back is refused.
//
// Thread-safety: every method may be called concurrently. Lifetimes: the store must outlive the
// registry; a ModelVersion's classifier stays valid as long as the caller holds it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fetal/classifier.h"
#include "fetal/status.h"
#include "monitoring/reference.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// A registry version ready to classify.
struct ModelVersion {
  int64_t version = 0;
  std::string sha256;  // of the bundle file, as the registry stores it
  std::shared_ptr<const Classifier> classifier;
  // What monitoring compares this version's exams with; null when its bundle has none.
  std::shared_ptr<const MonitoringReference> reference;
};

// Why an upload was refused: the HTTP status, a stable code and a sentence.
struct UploadRefusal {
  int http_status = 422;
  std::string code;
  std::string message;
  std::string field;
};

class ModelRegistry {
 public:
  // `public_key_pem` empty disables uploads (they are refused with 403).
  ModelRegistry(storage::Store* store, std::string public_key_pem,
                std::chrono::milliseconds active_ttl);

  // The classifier for `version`; NotFound when the registry has no such version, Corruption
  // when the stored bundle no longer loads, its bytes do not match the stored SHA-256, or (with
  // a public key) its signature does not verify.
  storage::StoreStatus Get(int64_t version, ModelVersion* out);
  // As Get, but always from the database (never the cache), replacing the cached entry:
  // activation uses it, so what becomes active is what the database holds now.
  storage::StoreStatus Reload(int64_t version, ModelVersion* out);

  // The active model record including its bundle bytes, checked as Get checks. NotFound when
  // none is active.
  storage::StoreStatus Active(std::shared_ptr<const storage::ModelRecord>* out);
  // The model public key (SPKI PEM) bundles and release manifests are verified with; empty
  // when none is configured.
  const std::string& public_key_pem() const { return public_key_pem_; }

  // Forget the cached active model (after this process activated another version). An Active()
  // call whose database read began before this does not cache what it read.
  void InvalidateActive();

  // Checks an uploaded bundle: signature (base64 P1363, signature.h), parse, classifier, self-test.
  // On success *classifier holds the parsed bundle. Does not touch the store.
  bool CheckUpload(const std::string& bundle, const std::string& signature,
                   std::unique_ptr<Classifier>* classifier, UploadRefusal* why) const;

  // Builds the classifier of a parsed bundle and classifies a few built-in, valid exams (one of
  // each class from the dataset): each must be classified, every probability (calibrated and
  // raw) finite and in [0, 1], and each exam's probabilities must sum to 1. On success *out is
  // the classifier.
  static Status SelfTest(Model model, std::unique_ptr<Classifier>* out);

 private:
  // SHA-256 of the bytes, and the signature when a public key is configured.
  storage::StoreStatus CheckStored(const storage::ModelRecord& record) const;
  storage::StoreStatus Load(int64_t version, ModelVersion* out);

  storage::Store* const store_;
  const std::string public_key_pem_;
  const std::chrono::milliseconds active_ttl_;

  std::mutex mu_;
  std::map<int64_t, ModelVersion> loaded_;                // guarded by mu_
  std::shared_ptr<const storage::ModelRecord> active_;    // guarded by mu_
  std::chrono::steady_clock::time_point active_fetched_;  // guarded by mu_
  uint64_t active_generation_ = 0;  // guarded by mu_; InvalidateActive counts up
};

// Reads a whole file; false with *error naming the path on failure.
bool ReadFile(const std::string& path, std::string* out, std::string* error);

}  // namespace server
}  // namespace fetal
