#include "fetal/signature.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fetal {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GenerateSigningKey(&private_pem_, &public_pem_).ok());
    static const char kData[] = "FHMB bundle bytes \x00\x01\x02 and more";
    data_ = Bytes(std::string(kData, sizeof(kData) - 1));  // with the NUL inside
  }
  Status Sign(const std::vector<uint8_t>& data, std::string* sig) {
    return SignBundle(private_pem_, data.data(), data.size(), sig);
  }
  Status Verify(const std::vector<uint8_t>& data, const std::string& sig,
                const std::string* public_pem = nullptr) {
    return VerifyBundle(public_pem ? *public_pem : public_pem_, data.data(), data.size(), sig);
  }
  std::string private_pem_, public_pem_;
  std::vector<uint8_t> data_;
};

std::vector<uint8_t> DecodeBase64(const std::string& s) {
  std::vector<uint8_t> out(s.size());
  int n =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), int(s.size()));
  if (n < 0) return {};
  size_t padding = 0;
  while (padding < s.size() && s[s.size() - 1 - padding] == '=') ++padding;
  out.resize(size_t(n) - padding);
  return out;
}

TEST_F(SignatureTest, KeysArePemOfTheDocumentedKinds) {
  EXPECT_EQ(private_pem_.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << private_pem_;
  EXPECT_EQ(public_pem_.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u) << public_pem_;
}

TEST_F(SignatureTest, SignThenVerify) {
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  EXPECT_EQ(DecodeBase64(sig).size(), 64u) << sig;  // r || s, as WebCrypto expects
  Status s = Verify(data_, sig);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(SignatureTest, EmptyDataCanBeSignedToo) {
  std::string sig;
  ASSERT_TRUE(Sign({}, &sig).ok());
  EXPECT_TRUE(Verify({}, sig).ok());
}

TEST_F(SignatureTest, TamperedDataFails) {
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  for (size_t i = 0; i < data_.size(); i += 7) {
    std::vector<uint8_t> tampered = data_;
    tampered[i] ^= 1;
    Status s = Verify(tampered, sig);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << "byte " << i;
  }
  std::vector<uint8_t> longer = data_;
  longer.push_back(0);
  EXPECT_FALSE(Verify(longer, sig).ok());
}

TEST_F(SignatureTest, TamperedSignatureFails) {
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  std::string other = sig;
  other[10] = other[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Verify(data_, other).ok());
}

TEST_F(SignatureTest, WrongKeyFails) {
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  std::string other_private, other_public;
  ASSERT_TRUE(GenerateSigningKey(&other_private, &other_public).ok());
  Status s = Verify(data_, sig, &other_public);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.message();
}

TEST_F(SignatureTest, GarbageSignatureGivesAClearError) {
  for (const std::string& garbage :
       {std::string(""), std::string("not base64 at all!"), std::string("QUJD"),
        std::string(88, 'A'), std::string(86, 'A') + "=", std::string(300, '/')}) {
    Status s = Verify(data_, garbage);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << garbage;
    EXPECT_EQ(s.field(), "signature");
    EXPECT_NE(s.message().find("64 bytes"), std::string::npos) << s.message();
  }
  // Well-formed but mathematically invalid (r = s = 0): rejected, not crashed.
  Status s = Verify(data_, std::string(86, 'A') + "==");
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
}

TEST_F(SignatureTest, GarbageKeysGiveAClearError) {
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  const std::string garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  Status s = Verify(data_, sig, &garbage);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("public key"), std::string::npos) << s.message();
  // A private key where a public one is expected, and the other way round.
  s = Verify(data_, sig, &private_pem_);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  std::string out;
  s = SignBundle(public_pem_, data_.data(), data_.size(), &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("private key"), std::string::npos) << s.message();
  s = SignBundle("", data_.data(), data_.size(), &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
}

// ---- interoperability with the openssl command line ----

std::string TempPath(const std::string& name) {
  return std::string(FETAL_TEST_TMP_DIR) + "/signature_test_" + name;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return Bytes(s.str());
}

int Shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

bool HaveOpenSslCli() { return Shell("openssl version") == 0; }

TEST_F(SignatureTest, OpenSslCliVerifiesOurSignature) {
  if (!HaveOpenSslCli()) GTEST_SKIP() << "openssl command not installed";
  std::string sig;
  ASSERT_TRUE(Sign(data_, &sig).ok());
  const std::vector<uint8_t> raw = DecodeBase64(sig);
  ASSERT_EQ(raw.size(), 64u);
  // P1363 -> DER, the form `openssl dgst -verify` reads.
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  ECDSA_SIG_set0(ecdsa, BN_bin2bn(raw.data(), 32, nullptr),
                 BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(ecdsa, &der);
  WriteFile(TempPath("sig.der"), std::vector<uint8_t>(der, der + der_size));
  OPENSSL_free(der);
  ECDSA_SIG_free(ecdsa);
  WriteFile(TempPath("data"), data_);
  WriteFile(TempPath("pub.pem"), Bytes(public_pem_));
  EXPECT_EQ(Shell("openssl dgst -sha256 -verify " + TempPath("pub.pem") + " -signature " +
                  TempPath("sig.der") + " " + TempPath("data")),
            0);
  std::vector<uint8_t> other = data_;
  other[0] ^= 1;
  WriteFile(TempPath("data"), other);
  EXPECT_NE(Shell("openssl dgst -sha256 -verify " + TempPath("pub.pem") + " -signature " +
                  TempPath("sig.der") + " " + TempPath("data")),
            0);
}

TEST_F(SignatureTest, WeVerifyOpenSslCliSignaturesAndKeys) {
  if (!HaveOpenSslCli()) GTEST_SKIP() << "openssl command not installed";
  // A SEC1 ("BEGIN EC PRIVATE KEY") key from the CLI, as an operator would make one.
  ASSERT_EQ(Shell("openssl ecparam -name prime256v1 -genkey -noout -out " + TempPath("ec.pem")), 0);
  ASSERT_EQ(Shell("openssl ec -in " + TempPath("ec.pem") + " -pubout -out " +
                  TempPath("ecpub.pem")),
            0);
  WriteFile(TempPath("data2"), data_);
  ASSERT_EQ(Shell("openssl dgst -sha256 -sign " + TempPath("ec.pem") + " -out " +
                  TempPath("sig2.der") + " " + TempPath("data2")),
            0);
  const std::vector<uint8_t> der = ReadFile(TempPath("sig2.der"));
  const unsigned char* p = der.data();
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, long(der.size()));
  ASSERT_NE(ecdsa, nullptr);
  uint8_t raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), raw + 32, 32);
  ECDSA_SIG_free(ecdsa);
  std::string b64(100, '\0');
  b64.resize(size_t(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&b64[0]), raw, 64)));
  const std::vector<uint8_t> pub = ReadFile(TempPath("ecpub.pem"));
  const std::string public_pem(pub.begin(), pub.end());
  Status s = Verify(data_, b64, &public_pem);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // And our signer takes the SEC1 private key.
  const std::vector<uint8_t> sec1 = ReadFile(TempPath("ec.pem"));
  std::string sig;
  ASSERT_TRUE(
      SignBundle(std::string(sec1.begin(), sec1.end()), data_.data(), data_.size(), &sig).ok());
  EXPECT_TRUE(Verify(data_, sig, &public_pem).ok());
}

TEST_F(SignatureTest, KeysOnOtherCurvesOrAlgorithmsAreRefusedByName) {
  if (!HaveOpenSslCli()) GTEST_SKIP() << "openssl command not installed";
  ASSERT_EQ(Shell("openssl ecparam -name secp384r1 -genkey -noout -out " + TempPath("p384.pem")),
            0);
  ASSERT_EQ(Shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " +
                  TempPath("rsa.pem")),
            0);
  std::string sig;
  const std::vector<uint8_t> p384 = ReadFile(TempPath("p384.pem"));
  Status s = SignBundle(std::string(p384.begin(), p384.end()), data_.data(), data_.size(), &sig);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("secp384r1"), std::string::npos) << s.message();
  const std::vector<uint8_t> rsa = ReadFile(TempPath("rsa.pem"));
  s = SignBundle(std::string(rsa.begin(), rsa.end()), data_.data(), data_.size(), &sig);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not an EC key"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace fetal
