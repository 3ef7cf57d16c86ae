// Model bundle: the one versioned file a browser downloads (format: docs/bundle-format.md).
//
// A bundle is self-describing and ends with the SHA-256 of everything before it, so truncation
// and corruption are detected on load. A detached ECDSA P-256 / SHA-256 signature over the whole
// bundle (signature.h) proves who published it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

// Written by WriteBundle; ReadBundle reads versions 1 to this (docs/bundle-format.md).
inline constexpr int32_t kBundleFormatVersion = 2;

// Serializes `model` into bundle bytes. Deterministic: the same Model gives the same bytes.
// Precondition: the model passes CheckModel().
std::vector<uint8_t> WriteBundle(const Model& model);

// Parses bundle bytes. Rejects, with a message saying which: wrong magic, unsupported format
// version, truncation, content hash mismatch, schema mismatch (feature names/order), and
// structurally invalid trees (child index out of range, cycles, bad feature index). On success
// *out passes CheckModel() (Classifier::CreateFromBundle relies on it); on failure it is left
// unspecified.
struct BundleReadOptions {
  // Recompute the content hash (SHA-256 of all but the last 32 bytes) and compare it with the
  // trailer. Turn off only when the caller has just made that comparison itself (the web app
  // does it with WebCrypto, natively, before the model core sees the bytes).
  bool verify_content_hash = true;
};
Status ReadBundle(const uint8_t* data, size_t size, Model* out,
                  const BundleReadOptions& options = BundleReadOptions());

// Hex SHA-256 of the bundle's content (the trailing hash it carries), for ETags and display.
// Precondition: `data` is a bundle accepted by ReadBundle.
std::string BundleContentHash(const uint8_t* data, size_t size);

// Imports an XGBoost 1.7 JSON model (objective multi:softprob, 3 classes, gbtree) into `out`'s
// trees and base score. Other fields of *out are left as they were.
Status ImportXgboostJson(const std::string& json_text, Model* out);

}  // namespace fetal
