#include "audit_signer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fetal/signature.h"
#include "model_registry.h"

namespace fetal {
namespace server {
namespace {

// Writes a new key with O_EXCL; false with errno EEXIST when another process was first.
bool WriteNewKey(const std::string& path, const std::string& pem, std::string* error) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = fchmod(fd, 0600) == 0 &&
            write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    *error = "cannot write " + path + ": " + std::strerror(saved);
  }
  return ok;
}

}  // namespace

bool AuditSigner::Load(const std::string& path, bool create, std::unique_ptr<AuditSigner>* out,
                       bool* created, std::string* error) {
  *created = false;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) {
      *error = "audit key " + path + ": " + std::strerror(errno);
      return false;
    }
    std::string private_pem, public_pem;
    Status s = GenerateSigningKey(&private_pem, &public_pem);
    if (!s.ok()) {
      *error = "cannot generate the audit key: " + s.ToString();
      return false;
    }
    std::string write_error;
    *created = WriteNewKey(path, private_pem, &write_error);
    // Not created: fine if another instance created it meanwhile, which stat then finds.
    if (stat(path.c_str(), &st) != 0) {
      *error = *created ? "audit key " + path + ": " + std::strerror(errno) : write_error;
      return false;
    }
  }
  if ((st.st_mode & 077) != 0) {
    *error = "audit key " + path + " may be read by other users (mode " +
             std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
             std::to_string(st.st_mode & 7) + "); make it 0600 (chmod 600 " + path + ")";
    return false;
  }
  auto signer = std::unique_ptr<AuditSigner>(new AuditSigner());
  if (!ReadFile(path, &signer->private_pem_, error)) return false;
  Status s = PublicKeyOf(signer->private_pem_, &signer->public_pem_);
  if (s.ok()) s = PublicKeyId(signer->public_pem_, &signer->key_id_);
  if (!s.ok()) {
    *error = "audit key " + path + " is not an ECDSA P-256 private key in PEM: " + s.ToString();
    return false;
  }
  *out = std::move(signer);
  return true;
}

Status AuditSigner::Sign(storage::SignedCheckpoint* cp) const {
  cp->key_id = key_id_;
  return SignBytes(private_pem_, storage::CanonicalCheckpoint(*cp), &cp->signature);
}

Status AuditSigner::SignDocument(const std::string& bytes, std::string* signature_base64) const {
  return SignBytes(private_pem_, bytes, signature_base64);
}

storage::CheckpointTrust AuditSigner::Judge(const storage::SignedCheckpoint& cp) const {
  return JudgeCheckpoint(public_pem_, key_id_, cp);
}

storage::CheckpointTrust JudgeCheckpoint(const std::string& public_pem, const std::string& key_id,
                                         const storage::SignedCheckpoint& cp) {
  if (cp.key_id != key_id) return storage::CheckpointTrust::kUnknownKey;
  return VerifyBytes(public_pem, storage::CanonicalCheckpoint(cp), cp.signature).ok()
             ? storage::CheckpointTrust::kTrusted
             : storage::CheckpointTrust::kBadSignature;
}

}  // namespace server
}  // namespace fetal
