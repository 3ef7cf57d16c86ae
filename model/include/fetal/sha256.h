// SHA-256 (FIPS 180-4), self-contained so the WebAssembly build needs no OpenSSL.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace fetal {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  std::array<uint8_t, 32> Final();  // the object must not be updated afterwards
 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  uint64_t length_ = 0;
  size_t used_ = 0;
};

std::array<uint8_t, 32> Sha256Digest(const void* data, size_t size);
std::string Sha256Hex(const void* data, size_t size);
std::string ToHex(const uint8_t* data, size_t size);

}  // namespace fetal
