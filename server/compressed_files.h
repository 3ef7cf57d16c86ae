// CompressedFiles: the web app's files in the content codings browsers accept, each compressed once
// per file version and kept in memory.
//
// Why: compressing per request at the best ratio costs 130-190 ms of CPU for the app's 105 KB
// chunk (content_coding.h); once per version (path and ETag), every later request is a copy from
// memory, and the files can still go out at the best ratio.
//
// Thread-safety: Get may be called concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "content_coding.h"
#include "static_files.h"

namespace fetal {
namespace server {

class CompressedFiles {
 public:
  // At most `max_bytes` of compressed copies are kept; files over `max_file_bytes` are not
  // compressed (they are sent as they are).
  CompressedFiles(size_t max_bytes, size_t max_file_bytes);

  // The bytes to send for `file` in `*coding`, read and (unless identity) compressed on the first
  // call for this path, ETag and coding. When a compressed copy cannot be kept (the file is too
  // large, the cache is full, or compression failed) the file's own bytes are returned and
  // *coding becomes kIdentity. Null when the file cannot be read.
  std::shared_ptr<const std::string> Get(const StaticFile& file, Coding* coding);

 private:
  const size_t max_bytes_;
  const size_t max_file_bytes_;
  // One file version in one coding; `coding` is identity when compressing did not make it smaller.
  struct Copy {
    std::string etag;
    Coding coding = Coding::kIdentity;
    std::shared_ptr<const std::string> bytes;
  };

  std::mutex mu_;
  std::map<std::string, Copy> copies_;  // guarded by mu_; by path and requested coding
  size_t bytes_ = 0;                    // guarded by mu_; the sum of copies_' sizes
};

}  // namespace server
}  // namespace fetal
