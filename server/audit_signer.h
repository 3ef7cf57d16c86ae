// AuditSigner: the server's audit key, which signs checkpoints of the audit chain
// (docs/storage.md "Checkpoints"). The key lives outside the database on purpose: someone who
// can rewrite the database cannot sign a checkpoint for the rewritten chain.
//
// Thread-safety: immutable after Load; Sign and Judge may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "fetal/status.h"
#include "storage/store.h"

namespace fetal {
namespace server {

class AuditSigner {
 public:
  // Reads the ECDSA P-256 private key (PEM) at `path`. When the file is missing and `create` is
  // set, generates a key and writes it with mode 0600 (exclusively: of several instances starting
  // at once on one data directory, one writes it and the others read it); *created says so.
  // Refuses a key file that group or others may read. False with *error naming the path.
  static bool Load(const std::string& path, bool create, std::unique_ptr<AuditSigner>* out,
                   bool* created, std::string* error);

  // Fills cp->key_id and cp->signature from its seq, hash and time_ms.
  Status Sign(storage::SignedCheckpoint* cp) const;
  // A detached signature (base64 of r||s) over `bytes` exactly: the post-market report's files.
  // Every signed document starts otherwise than a checkpoint's canonical form, so neither can
  // pass for the other.
  Status SignDocument(const std::string& bytes, std::string* signature_base64) const;
  // kTrusted when signed by this key, kBadSignature when it names this key but does not verify.
  storage::CheckpointTrust Judge(const storage::SignedCheckpoint& cp) const;

  const std::string& public_pem() const { return public_pem_; }
  const std::string& key_id() const { return key_id_; }

 private:
  AuditSigner() = default;
  std::string private_pem_, public_pem_, key_id_;
};

// How a verifier holding only the public key judges a checkpoint (what Judge does; also used by
// fetal-audit).
storage::CheckpointTrust JudgeCheckpoint(const std::string& public_pem, const std::string& key_id,
                                         const storage::SignedCheckpoint& cp);

}  // namespace server
}  // namespace fetal
