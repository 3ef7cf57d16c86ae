// StaticFiles: serves the web app's build folder safely.
//
// A URL path maps to a regular file under the root, never outside it: "." and ".." segments,
// hidden names (".git"), NUL bytes and symlinks leading out of the root are refused. "/" and
// directories map to their index.html. MIME types are explicit (.wasm is application/wasm so
// browsers can stream-compile it). Caching: names carrying a content hash ("app.3f2a9c1b.js")
// are immutable for a year; everything else, notably the service worker and index.html, is
// "no-cache" (revalidated with ETag, answered 304 when unchanged).
//
// Thread-safety: immutable after construction; Resolve may be called concurrently.
#pragma once

#include <string>

namespace fetal {
namespace server {

struct StaticFile {
  std::string path;           // absolute file path, inside the root
  std::string mime;           // Content-Type value
  std::string cache_control;  // Cache-Control value
  std::string etag;           // quoted, from size and modification time
};

class StaticFiles {
 public:
  // `root` empty disables static files. The root is resolved once (realpath).
  explicit StaticFiles(const std::string& root);
  bool enabled() const { return !root_.empty(); }

  // False when the path is refused or names no regular file (answer 404).
  bool Resolve(const std::string& url_path, StaticFile* out) const;

  static std::string MimeType(const std::string& path);
  static std::string CacheControl(const std::string& path);

 private:
  std::string root_;
};

}  // namespace server
}  // namespace fetal
