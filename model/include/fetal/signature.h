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

}  // namespace fetal
