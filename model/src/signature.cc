// ECDSA P-256 / SHA-256 detached signatures with OpenSSL's EVP API.
//
// OpenSSL produces and expects DER-encoded ECDSA signatures; WebCrypto uses the fixed 64-byte
// IEEE P1363 form (r || s, each 32 bytes big-endian). Files carry the P1363 form in base64, and
// this file converts at the boundary with ECDSA_SIG.
#include "fetal/signature.h"

#include "fetal/sha256.h"

#include <memory>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

namespace fetal {
namespace {

constexpr int kCoordinateSize = 32;  // P-256

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

// The most recent OpenSSL error as text (and clears the queue so errors do not leak into
// later calls).
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

// Keys must be P-256 EC keys: a signature made with another curve would not verify in browsers.
Status CheckP256(EVP_PKEY* key, const char* which) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) {
    return Status::InvalidArgument(std::string(which) + " is not an EC key (expected P-256)",
                                   which);
  }
  char curve[64] = {0};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &length) != 1 ||
      std::string(curve) != "prime256v1") {
    ERR_clear_error();
    return Status::InvalidArgument(std::string(which) + " is on curve '" + curve +
                                       "'; expected P-256 (prime256v1)",
                                   which);
  }
  return Status::Ok();
}

Status ReadKey(const std::string& pem, bool is_private, Owned<EVP_PKEY>* key) {
  const char* which = is_private ? "private key" : "public key";
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Status::IoError("out of memory reading the " + std::string(which));
  EVP_PKEY* raw = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) {
    std::string detail = OpenSslError();
    return Status::InvalidArgument(std::string(which) + " is not a PEM " +
                                       (is_private ? "PKCS#8 or SEC1 EC private key"
                                                   : "SPKI public key") +
                                       " (" + detail + ")",
                                   which);
  }
  key->reset(raw);
  return CheckP256(raw, which);
}

std::string Base64Encode(const uint8_t* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]), data, int(size));
  out.resize(size_t(n));
  return out;
}

// Strict standard base64 (with padding, whitespace ignored) into `out`.
bool Base64Decode(const std::string& text, std::vector<uint8_t>* out) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') s.push_back(c);
  }
  if (s.empty() || s.size() % 4 != 0) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 4) {
    uint32_t block = 0;
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + j];
      uint32_t v = 0;
      if (c == '=') {
        if (i + 4 != s.size() || j < 2) return false;
        ++padding;
      } else {
        if (padding) return false;
        size_t pos = kAlphabet.find(c);
        if (pos == std::string::npos) return false;
        v = uint32_t(pos);
      }
      block = (block << 6) | v;
    }
    out->push_back(uint8_t(block >> 16));
    if (padding < 2) out->push_back(uint8_t(block >> 8));
    if (padding < 1) out->push_back(uint8_t(block));
  }
  return true;
}

}  // namespace

Status SignBundle(const std::string& private_key_pem, const uint8_t* data, size_t size,
                  std::string* signature_base64) {
  Owned<EVP_PKEY> key;
  Status s = ReadKey(private_key_pem, /*is_private=*/true, &key);
  if (!s.ok()) return s;
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  size_t der_size = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_size, data, size) != 1) {
    return Status::IoError("signing failed: " + OpenSslError());
  }
  std::vector<uint8_t> der(der_size);
  if (EVP_DigestSign(md.get(), der.data(), &der_size, data, size) != 1) {
    return Status::IoError("signing failed: " + OpenSslError());
  }
  const unsigned char* p = der.data();
  Owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, long(der_size)));
  if (!sig) return Status::IoError("signing failed: " + OpenSslError());
  uint8_t p1363[2 * kCoordinateSize];
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), p1363, kCoordinateSize) != kCoordinateSize ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), p1363 + kCoordinateSize, kCoordinateSize) !=
          kCoordinateSize) {
    return Status::IoError("signing failed: signature does not fit P-256");
  }
  *signature_base64 = Base64Encode(p1363, sizeof(p1363));
  return Status::Ok();
}

Status VerifyBundle(const std::string& public_key_pem, const uint8_t* data, size_t size,
                    const std::string& signature_base64) {
  std::vector<uint8_t> raw;
  if (!Base64Decode(signature_base64, &raw) || raw.size() != 2 * kCoordinateSize) {
    return Status::InvalidArgument("signature must be base64 of 64 bytes (P-256 r || s)",
                                   "signature");
  }
  Owned<EVP_PKEY> key;
  Status s = ReadKey(public_key_pem, /*is_private=*/false, &key);
  if (!s.ok()) return s;

  Owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), kCoordinateSize, nullptr);
  BIGNUM* s_value = BN_bin2bn(raw.data() + kCoordinateSize, kCoordinateSize, nullptr);
  if (!sig || !r || !s_value || ECDSA_SIG_set0(sig.get(), r, s_value) != 1) {
    BN_free(r);
    BN_free(s_value);
    return Status::IoError("out of memory decoding the signature");
  }
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_size <= 0) return Status::IoError("encoding the signature failed: " + OpenSslError());
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(der, [](unsigned char* p) {
    OPENSSL_free(p);
  });

  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return Status::IoError("verification failed to start: " + OpenSslError());
  }
  const int result = EVP_DigestVerify(md.get(), der, size_t(der_size), data, size);
  ERR_clear_error();
  if (result != 1) {
    return Status::Corruption("signature does not match the bundle and public key");
  }
  return Status::Ok();
}

Status GenerateSigningKey(std::string* private_pem, std::string* public_pem) {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Status::IoError("key generation failed: " + OpenSslError());
  }
  Owned<EVP_PKEY> key(raw);
  Owned<BIO> private_bio(BIO_new(BIO_s_mem()));
  Owned<BIO> public_bio(BIO_new(BIO_s_mem()));
  if (!private_bio || !public_bio ||
      PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1 ||
      PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) {
    return Status::IoError("writing the key pair failed: " + OpenSslError());
  }
  auto read_all = [](BIO* bio) {
    char* p = nullptr;
    long n = BIO_get_mem_data(bio, &p);
    return std::string(p, size_t(n));
  };
  *private_pem = read_all(private_bio.get());
  *public_pem = read_all(public_bio.get());
  return Status::Ok();
}

Status PublicKeyOf(const std::string& private_key_pem, std::string* public_pem) {
  Owned<EVP_PKEY> key;
  Status s = ReadKey(private_key_pem, /*is_private=*/true, &key);
  if (!s.ok()) return s;
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return Status::IoError("writing the public key failed: " + OpenSslError());
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  *public_pem = std::string(p, size_t(n));
  return Status::Ok();
}

Status PublicKeyId(const std::string& public_key_pem, std::string* key_id) {
  Owned<EVP_PKEY> key;
  Status s = ReadKey(public_key_pem, /*is_private=*/false, &key);
  if (!s.ok()) return s;
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key.get(), &der);
  if (size <= 0) return Status::IoError("encoding the public key failed: " + OpenSslError());
  *key_id = Sha256Hex(der, size_t(size));
  OPENSSL_free(der);
  return Status::Ok();
}

}  // namespace fetal
