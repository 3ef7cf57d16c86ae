#include "fetal/sha256.h"

#include <openssl/sha.h>

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fetal {
namespace {

std::string Hex(const std::string& s) { return Sha256Hex(s.data(), s.size()); }

TEST(Sha256Test, MatchesFips180KnownAnswers) {
  EXPECT_EQ(Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(
      Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklm"
          "nopqrlmnopqrsmnopqrstnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, MatchesOpenSslOnRandomInputsOfEveryPaddingLength) {
  std::mt19937 rng(1234);
  // Every length around the 55/56/64-byte padding boundaries, then longer random lengths.
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 200; ++n) lengths.push_back(n);
  for (int i = 0; i < 50; ++i) lengths.push_back(rng() % 100000);
  for (size_t n : lengths) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = uint8_t(rng());
    uint8_t expected[SHA256_DIGEST_LENGTH];
    SHA256(data.data(), n, expected);
    auto actual = Sha256Digest(data.data(), n);
    ASSERT_EQ(ToHex(actual.data(), 32), ToHex(expected, 32)) << "length " << n;
  }
}

TEST(Sha256Test, IncrementalUpdatesEqualOneShot) {
  std::mt19937 rng(99);
  std::vector<uint8_t> data(5000);
  for (auto& b : data) b = uint8_t(rng());
  const auto expected = Sha256Digest(data.data(), data.size());
  for (int trial = 0; trial < 100; ++trial) {
    Sha256 hasher;
    size_t pos = 0;
    while (pos < data.size()) {
      size_t chunk = std::min(data.size() - pos, size_t(rng() % 150));
      hasher.Update(data.data() + pos, chunk);
      pos += chunk;
    }
    ASSERT_EQ(hasher.Final(), expected) << "trial " << trial;
  }
}

TEST(Sha256Test, ToHexIsLowercaseTwoDigitsPerByte) {
  const uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(ToHex(bytes, 4), "000fa0ff");
}

}  // namespace
}  // namespace fetal
