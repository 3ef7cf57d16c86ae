#include "http/bounded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "http/request_context.h"

namespace fetal {
namespace server {
namespace {

struct ConnectionFlags {
  bool close_after_response = false;
  bool headers_too_large = false;
  bool headers_read = false;  // the library parsed this request's headers
  // Bytes the library may still read after the headers: none unless a route reads its body.
  size_t body_budget = 0;
  bool body_budget_exceeded = false;
};
thread_local ConnectionFlags t_flags;

int ToMs(time_t sec, time_t usec) {
  return static_cast<int>(std::min<long long>(sec * 1000LL + usec / 1000, 1 << 30));
}

bool WaitFor(int sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

void AddressText(const sockaddr_storage& addr, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

// A buffered socket stream (like the library's own) that counts what the header phase of a
// request reads.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override {
    return begin_ < end_ || WaitFor(sock_, POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override { return WaitFor(sock_, POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (in_headers_) {
      if (header_bytes_ >= kMaxHeaderBytes) {
        t_flags.headers_too_large = true;
        return -1;
      }
      size = std::min(size, kMaxHeaderBytes - header_bytes_);
    } else {
      if (t_flags.body_budget == 0) {
        t_flags.body_budget_exceeded = true;
        return -1;
      }
      size = std::min(size, t_flags.body_budget);
    }
    if (begin_ == end_) {
      if (!WaitFor(sock_, POLLIN, read_timeout_ms_)) return -1;
      ssize_t n;
      do {
        n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    if (in_headers_) header_bytes_ += n;
    else t_flags.body_budget -= n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      AddressText(addr, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      AddressText(addr, ip, port);
  }
  socket_t socket() const override { return sock_; }

  void StartRequest() {
    in_headers_ = true;
    header_bytes_ = 0;
  }
  void EndOfHeaders() { in_headers_ = false; }
  bool HasBuffered() const { return begin_ < end_; }

 private:
  const int sock_;
  const int read_timeout_ms_, write_timeout_ms_;
  char buffer_[16 * 1024];
  size_t begin_ = 0, end_ = 0;
  bool in_headers_ = true;
  size_t header_bytes_ = 0;
};

// Stops sending, then reads and discards for up to two seconds (or until the client is quiet
// for half a second or closes), so the close does not reset a connection whose answer the
// client is still reading.
void DrainBeforeClose(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char sink[16 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || !WaitFor(sock, POLLIN, static_cast<int>(std::min<long long>(left, 500))))
      break;
    ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
  }
}

}  // namespace

void CloseConnectionAfterResponse() { t_flags.close_after_response = true; }
void AllowBodyBytes(size_t n) { t_flags.body_budget = n; }
bool BodyBudgetExceeded() { return t_flags.body_budget_exceeded; }
bool ClosingAfterResponse() { return t_flags.close_after_response; }
bool HeadersTooLarge() { return t_flags.headers_too_large; }

bool BoundedServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, ToMs(read_timeout_sec_, read_timeout_usec_),
                          ToMs(write_timeout_sec_, write_timeout_usec_));
  const auto setup = [&stream](httplib::Request& req) {
    stream.EndOfHeaders();
    t_flags.headers_read = true;
    CurrentRequest().Begin(req.get_header_value("X-Request-Id"));
  };
  bool ret = false;
  bool drain = false;
  size_t count = keep_alive_max_count_;
  const int keep_alive_ms = ToMs(keep_alive_timeout_sec_, 0);
  while (svr_sock_ != INVALID_SOCKET && count > 0) {
    // Wait for the next request in short steps, so a stopping server is not held up.
    bool ready = stream.HasBuffered();
    for (int waited = 0; !ready && waited <= keep_alive_ms && svr_sock_ != INVALID_SOCKET;
         waited += 100) {
      ready = WaitFor(sock, POLLIN, 100);
    }
    if (!ready) break;
    t_flags = ConnectionFlags();
    stream.StartRequest();
    bool connection_closed = false;
    ret = process_request(stream, count == 1, connection_closed, setup);
    // A request refused with its body unread, or refused by the library before routing
    // (malformed, headers too large), leaves the connection at an unknown position: close it,
    // after letting the client read the answer.
    if (t_flags.close_after_response || !t_flags.headers_read) drain = true;
    if (!ret || connection_closed || drain) break;
    --count;
  }
  if (!ret && t_flags.headers_too_large && !t_flags.headers_read) {
    // The request line alone went past the budget: the library gave up without an answer.
    static_assert(kMaxHeaderBytes == 65536, "the answer below names the limit");
    static const char kBody[] =
        "{\"error\":{\"code\":\"headers_too_large\",\"message\":\"the request line and headers "
        "exceed 65536 bytes\",\"field\":\"headers\"}}";
    const std::string answer =
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(sizeof kBody - 1) + "\r\n\r\n" + kBody;
    stream.write(answer.data(), answer.size());
    drain = true;
  }
  if (drain) DrainBeforeClose(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace server
}  // namespace fetal
