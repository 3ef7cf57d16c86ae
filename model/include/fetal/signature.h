// Detached ECDSA P-256 / SHA-256 signatures over bundle bytes (native only: needs OpenSSL).
//
// Signature encoding: base64 of the 64-byte IEEE P1363 form (r || s), which is what WebCrypto's
// ECDSA verify takes, so a browser verifies the same file the server and CLI verify.
// Keys are PEM: a PKCS#8 or SEC1 private key for signing, an SPKI public key for verifying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "fetal/status.h"

namespace fetal {

Status SignBundle(const std::string& private_key_pem, const uint8_t* data, size_t size,
                  std::string* signature_base64);

// OK only if `signature_base64` is a valid signature of data by the key.
Status VerifyBundle(const std::string& public_key_pem, const uint8_t* data, size_t size,
                    const std::string& signature_base64);

// Generates a new P-256 key pair as PEM (private PKCS#8, public SPKI).
Status GenerateSigningKey(std::string* private_pem, std::string* public_pem);

// Nothing above is specific to bundles: the same signatures cover any bytes (the server's audit
// checkpoints use them). These names say so at such call sites.
inline Status SignBytes(const std::string& private_key_pem, const std::string& bytes,
                        std::string* signature_base64) {
  return SignBundle(private_key_pem, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                    signature_base64);
}
inline Status VerifyBytes(const std::string& public_key_pem, const std::string& bytes,
                          const std::string& signature_base64) {
  return VerifyBundle(public_key_pem, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                      signature_base64);
}

// The public key (SPKI PEM) of a P-256 private key (PEM).
Status PublicKeyOf(const std::string& private_key_pem, std::string* public_pem);

// A key's id: lowercase hex SHA-256 of its DER SubjectPublicKeyInfo, which
// `openssl pkey -pubin -in KEY.pem -outform DER | sha256sum` prints too.
Status PublicKeyId(const std::string& public_key_pem, std::string* key_id);

}  // namespace fetal
