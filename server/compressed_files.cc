#include "compressed_files.h"

#include <utility>

#include "model_registry.h"  // ReadFile

namespace fetal {
namespace server {

CompressedFiles::CompressedFiles(size_t max_bytes, size_t max_file_bytes)
    : max_bytes_(max_bytes), max_file_bytes_(max_file_bytes) {}

std::shared_ptr<const std::string> CompressedFiles::Get(const StaticFile& file, Coding* coding) {
  const std::string key = file.path + '\n' + CodingName(*coding);
  if (*coding != Coding::kIdentity) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = copies_.find(key);
    if (it != copies_.end() && it->second.etag == file.etag) {
      *coding = it->second.coding;
      return it->second.bytes;
    }
  }
  auto raw = std::make_shared<std::string>();
  std::string error;
  if (!ReadFile(file.path, raw.get(), &error)) return nullptr;
  if (*coding == Coding::kIdentity) return raw;
  if (raw->size() > max_file_bytes_) {
    *coding = Coding::kIdentity;
    return raw;
  }
  Copy copy{file.etag, *coding, nullptr};
  auto packed = std::make_shared<std::string>();
  if (Compress(*coding, Effort::kSmallest, *raw, packed.get()) && packed->size() < raw->size()) {
    copy.bytes = std::move(packed);
  } else {
    // Not smaller (or the encoder failed): remember to send this version as it is.
    copy.coding = Coding::kIdentity;
    copy.bytes = raw;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = copies_.find(key);
  const size_t replaced = it == copies_.end() ? 0 : it->second.bytes->size();
  if (bytes_ - replaced + copy.bytes->size() > max_bytes_) {
    *coding = Coding::kIdentity;
    return raw;
  }
  bytes_ = bytes_ - replaced + copy.bytes->size();
  *coding = copy.coding;
  auto kept = copy.bytes;
  copies_[key] = std::move(copy);
  return kept;
}

}  // namespace server
}  // namespace fetal
