// Content codings (RFC 9110 section 8.4): which one a request accepts, which media types are
// worth compressing, and the encoders. Used for the static files, compressed once per version
// (compressed_files.h), and for the API's answers, compressed once per response
// (http/responses.h: EncodeBody).
//
// Why our own: cpp-httplib 0.11.4 compresses every response body itself, and its Brotli encoder
// runs at the library's default quality (11, its slowest): about 0.5 s of CPU for a 1.4 MB JSON
// answer on the development VM, and 130-190 ms for the app's 105 KB chunk.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace fetal {
namespace server {

enum class Coding { kIdentity, kGzip, kBrotli };

// The Content-Encoding value of `coding` ("" for identity).
const char* CodingName(Coding coding);

// The coding to answer a request with, from its Accept-Encoding header: br, else gzip, when the
// header lists it with a q-value above 0; identity otherwise (no header, "*" alone, or neither).
Coding PreferredCoding(const std::string& accept_encoding);

// Whether bodies of this Content-Type shrink when compressed (text, JavaScript, JSON, SVG, wasm).
bool IsCompressible(const std::string& mime);

enum class Effort {
  kSmallest,  // the best ratio (Brotli 11, gzip 9): for files compressed once and sent many times
  kFast,      // a good ratio at tens of MB/s (Brotli 5, gzip 6): for answers made per request
};

// `bytes` compressed with `coding`; false when the encoder fails. Precondition: coding is not
// kIdentity.
bool Compress(Coding coding, Effort effort, const std::string& bytes, std::string* out);

}  // namespace server
}  // namespace fetal
