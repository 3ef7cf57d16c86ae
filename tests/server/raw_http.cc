#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

namespace fetal {
namespace testing_support {

RawHttp::RawHttp(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

RawHttp::~RawHttp() {
  if (fd_ >= 0) close(fd_);
}

bool RawHttp::Send(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 10000) <= 0) return false;
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

size_t RawHttp::SendUntilAnswered(const std::function<std::string()>& next) {
  size_t total = 0;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) return total;  // an answer (or a close) arrived
    std::string piece = next();
    if (piece.empty() || !Send(piece)) return total;
    total += piece.size();
  }
}

bool RawHttp::Fill(int timeout_ms) {
  if (fd_ < 0 || eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;  // closed (or reset) by the server
    return false;
  }
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

RawResponse RawHttp::Read(int timeout_ms, int close_wait_ms) {
  RawResponse r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    return static_cast<int>(
        std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now())
                                   .count()));
  };
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(left())) break;
  }
  if (end == std::string::npos) {
    r.closed = eof_;
    return r;
  }
  r.headers = buffer_.substr(0, end);
  if (r.headers.rfind("HTTP/1.1 ", 0) == 0) r.status = std::atoi(r.headers.c_str() + 9);
  size_t length = 0;
  for (size_t pos = 0; pos < r.headers.size();) {
    size_t eol = r.headers.find("\r\n", pos);
    if (eol == std::string::npos) eol = r.headers.size();
    std::string line = r.headers.substr(pos, eol - pos);
    if (line.size() > 15 && strncasecmp(line.c_str(), "Content-Length:", 15) == 0)
      length = std::strtoull(line.c_str() + 15, nullptr, 10);
    pos = eol + 2;
  }
  while (buffer_.size() < end + 4 + length && Fill(left())) {
  }
  r.body = buffer_.substr(end + 4, length);
  buffer_.erase(0, std::min(buffer_.size(), end + 4 + length));
  // Closed? Discard anything else that arrives until EOF or the wait ends.
  const auto close_deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(close_wait_ms);
  while (!eof_ && std::chrono::steady_clock::now() < close_deadline) {
    Fill(static_cast<int>(
        std::max<long long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   close_deadline - std::chrono::steady_clock::now())
                                   .count())));
  }
  r.closed = eof_;
  return r;
}

}  // namespace testing_support
}  // namespace fetal
