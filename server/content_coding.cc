#include "content_coding.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>

namespace fetal {
namespace server {

const char* CodingName(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return "gzip";
    case Coding::kBrotli: return "br";
    case Coding::kIdentity: break;
  }
  return "";
}

namespace {

std::string Trimmed(const std::string& s, size_t begin, size_t end) {
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  std::string out = s.substr(begin, end - begin);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The q-value of one Accept-Encoding element's parameters ("; q=0.5"); 1 without one, 0 when
// it does not parse.
double QValue(const std::string& params) {
  size_t at = params.find("q=");
  if (at == std::string::npos) return 1;
  const char* begin = params.c_str() + at + 2;
  char* end = nullptr;
  double q = std::strtod(begin, &end);
  return end == begin || !(q >= 0 && q <= 1) ? 0 : q;
}

}  // namespace

Coding PreferredCoding(const std::string& accept_encoding) {
  bool br = false, gzip = false;
  size_t begin = 0;
  while (begin <= accept_encoding.size()) {
    size_t end = accept_encoding.find(',', begin);
    if (end == std::string::npos) end = accept_encoding.size();
    size_t semicolon = accept_encoding.find(';', begin);
    const size_t name_end = semicolon < end ? semicolon : end;
    const std::string name = Trimmed(accept_encoding, begin, name_end);
    const double q = name_end < end ? QValue(Trimmed(accept_encoding, name_end + 1, end)) : 1;
    if (name == "br") br = q > 0;
    if (name == "gzip" || name == "x-gzip") gzip = q > 0;
    begin = end + 1;
  }
  return br ? Coding::kBrotli : gzip ? Coding::kGzip : Coding::kIdentity;
}

bool IsCompressible(const std::string& mime) {
  for (const char* prefix : {"text/", "application/javascript", "application/json",
                             "application/manifest+json", "image/svg+xml", "application/wasm"}) {
    if (mime.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool Compress(Coding coding, Effort effort, const std::string& bytes, std::string* out) {
  const bool smallest = effort == Effort::kSmallest;
  if (coding == Coding::kBrotli) {
    size_t size = BrotliEncoderMaxCompressedSize(bytes.size());
    out->resize(size == 0 ? bytes.size() + 1024 : size);
    if (!BrotliEncoderCompress(smallest ? BROTLI_MAX_QUALITY : 5, BROTLI_DEFAULT_WINDOW,
                               BROTLI_MODE_GENERIC, bytes.size(),
                               reinterpret_cast<const uint8_t*>(bytes.data()), &size,
                               reinterpret_cast<uint8_t*>(&(*out)[0]))) {
      return false;
    }
    out->resize(size);
    return true;
  }
  if (coding != Coding::kGzip || bytes.size() > UINT32_MAX / 2) return false;
  z_stream zs{};
  // 15 + 16: a 32 KiB window with the gzip header and trailer.
  if (deflateInit2(&zs, smallest ? 9 : 6, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    return false;
  out->resize(deflateBound(&zs, static_cast<uLong>(bytes.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(&(*out)[0]);
  zs.avail_out = static_cast<uInt>(out->size());
  const int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

}  // namespace server
}  // namespace fetal
