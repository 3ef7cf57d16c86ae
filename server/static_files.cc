#include "static_files.h"

#include <sys/stat.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace fetal {
namespace server {
namespace {

bool EndsWith(const std::string& s, const char* suffix) {
  std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

}  // namespace

StaticFiles::StaticFiles(const std::string& root) {
  if (!root.empty()) root_ = RealPath(root);
}

bool StaticFiles::Resolve(const std::string& url_path, StaticFile* out) const {
  if (root_.empty() || url_path.empty() || url_path[0] != '/') return false;
  if (url_path.find('\0') != std::string::npos || url_path.find('\\') != std::string::npos)
    return false;
  // Check every segment before touching the file system.
  size_t start = 1;
  while (start <= url_path.size()) {
    size_t end = url_path.find('/', start);
    if (end == std::string::npos) end = url_path.size();
    std::string segment = url_path.substr(start, end - start);
    if (!segment.empty() && segment[0] == '.') return false;  // ".", "..", hidden files
    start = end + 1;
  }
  std::string candidate = root_ + url_path;
  struct stat st;
  if (stat(candidate.c_str(), &st) != 0) return false;
  if (S_ISDIR(st.st_mode)) {
    candidate += (candidate.back() == '/' ? "" : "/");
    candidate += "index.html";
    if (stat(candidate.c_str(), &st) != 0) return false;
  }
  if (!S_ISREG(st.st_mode)) return false;
  std::string real = RealPath(candidate);
  if (real.empty() || real.compare(0, root_.size() + 1, root_ + "/") != 0) return false;
  out->path = real;
  out->mime = MimeType(real);
  out->cache_control = CacheControl(real);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  out->etag = etag;
  return true;
}

std::string StaticFiles::MimeType(const std::string& path) {
  static const struct {
    const char* ext;
    const char* mime;
  } kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".fhm", "application/octet-stream"},
      {".sig", "text/plain; charset=utf-8"},
      {".pem", "text/plain; charset=utf-8"},
  };
  for (const auto& t : kTypes) {
    if (EndsWith(path, t.ext)) return t.mime;
  }
  return "application/octet-stream";
}

std::string StaticFiles::CacheControl(const std::string& path) {
  std::string name = BaseName(path);
  // A run of 8+ hex digits between separators before the extension: a content hash.
  size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0) {
    std::string stem = name.substr(0, dot);
    size_t sep = stem.find_last_of(".-");
    if (sep != std::string::npos) {
      std::string hash = stem.substr(sep + 1);
      bool hex = hash.size() >= 8;
      for (char c : hash) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
      if (hex) return "public, max-age=31536000, immutable";
    }
  }
  return "no-cache";
}

}  // namespace server
}  // namespace fetal
