// RawHttp: one TCP connection to a server on 127.0.0.1 driven by hand, for the requests a real
// HTTP client library will not send (compressed or endless chunked bodies, missing or lying
// Content-Length, oversized headers) and to see exactly what comes back and whether the server
// closes the connection.
//
// Thread-safety: one thread per object. Every wait is bounded by the timeouts given.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace fetal {
namespace testing_support {

struct RawResponse {
  int status = 0;       // 0 when no status line arrived
  std::string headers;  // the header block, lines joined with "\r\n"
  std::string body;
  bool closed = false;  // the server closed the connection after the response
};

class RawHttp {
 public:
  explicit RawHttp(int port);
  ~RawHttp();
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes`; false when the server stopped taking them (closed or reset).
  bool Send(const std::string& bytes);
  // Sends pieces from `next` (which returns "" when done) until it is done, the server answers
  // (bytes arrive) or the server stops reading. Returns the bytes sent.
  size_t SendUntilAnswered(const std::function<std::string()>& next);
  // Reads one response (status line, headers, a Content-Length body) within `timeout_ms`, then
  // checks for up to `close_wait_ms` whether the server closes the connection.
  RawResponse Read(int timeout_ms = 10000, int close_wait_ms = 3000);

 private:
  bool Fill(int timeout_ms);  // appends what arrives to buffer_; false on timeout, EOF or error
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace testing_support
}  // namespace fetal
