// ModelRegistry: the HTTP layer's view of the models in the store.
//
// - Evaluators per registry version, built once from the stored bundle and kept for the life of
//   the process (bundles are immutable once stored, so a cached evaluator never goes stale).
// - The active model, cached for `active_ttl` so several instances on one database all serve a
//   newly activated version within that time.
// - Upload checks: signature against the configured public key, ReadBundle, and a self-test.
//
// Thread-safe. The store must outlive the registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fetal/evaluator.h"
#include "fetal/model.h"
#include "fetal/status.h"
#include "storage/store.h"

namespace fetal {
namespace server {

struct LoadedModel {
  int64_t version = 0;
  std::string sha256;
  Model model;
  std::unique_ptr<Evaluator> evaluator;
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
  ModelRegistry(storage::Store* store, std::string public_key_pem, std::chrono::milliseconds active_ttl);

  // The evaluator for `version`; NotFound when the registry has no such version, Corruption
  // when the stored bundle no longer parses.
  storage::StoreStatus Get(int64_t version, std::shared_ptr<const LoadedModel>* out);

  // The active model record including its bundle bytes. NotFound when none is active.
  storage::StoreStatus Active(std::shared_ptr<const storage::ModelRecord>* out);
  // Forget the cached active model (after this process activated another version).
  void InvalidateActive();

  bool uploads_enabled() const { return !public_key_pem_.empty(); }

  // Checks an uploaded bundle: signature (base64 P1363, signature.h), parse, self-test.
  // On success *model is the parsed bundle. Does not touch the store.
  bool CheckUpload(const std::string& bundle, const std::string& signature, Model* model,
                   UploadRefusal* why) const;

  // Evaluates a few built-in, valid exams (one of each class from the dataset): every
  // probability must be finite, in [0, 1], and each exam's probabilities must sum to 1.
  static Status SelfTest(const Model& model);

 private:
  storage::Store* store_;
  std::string public_key_pem_;
  std::chrono::milliseconds active_ttl_;

  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<const LoadedModel>> loaded_;
  std::shared_ptr<const storage::ModelRecord> active_;
  std::chrono::steady_clock::time_point active_fetched_;
};

// Reads a whole file; false with *error naming the path on failure.
bool ReadFile(const std::string& path, std::string* out, std::string* error);

}  // namespace server
}  // namespace fetal
