// BoundedServer: cpp-httplib's Server with each connection served by our own loop, for the two
// things the library (0.11.4, which Debian ships compiled, so its macros cannot be changed)
// does not bound by itself:
//
// - The request line and headers. The library reads a line until its newline and keeps every
//   header, however long and however many. Here they share a budget of kMaxHeaderBytes; past
//   it the read fails, the request is answered 431 and the connection closed.
// - Bodies a handler refused without reading (413, 415, 401, ...). The unread bytes would
//   otherwise be parsed as the next request on the connection (behind a proxy that reuses
//   upstream connections, a request of someone else's). A handler that refuses a body calls
//   CloseConnectionAfterResponse(); the loop then answers with "Connection: close", stops
//   writing, drains what the client still sends for at most two seconds (so the client reads
//   the answer instead of a reset) and closes.
//
// - Bodies. After the headers, the stream lets the library read nothing until a route allows
//   it (AllowBodyBytes): a body is only ever read by a route that asked for it, and within a
//   budget that also bounds the chunked encoding's own lines.
//
// Everything else (parsing, routing, keep-alive counting, timeouts) is the library's: the loop
// calls its Server::process_request for each request, as its own loop does.
//
// Thread-safety: as httplib::Server. The per-request flags below are thread-local; cpp-httplib
// serves one request from its headers to its log line on one worker thread.
#pragma once

#include <httplib.h>

#include <cstddef>

namespace fetal {
namespace server {

// Request line plus headers.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

class BoundedServer : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override;
};

// The current request's body is left unread: close the connection once it is answered.
void CloseConnectionAfterResponse();
// The current request's body may take `n` more bytes from the connection (framing included).
void AllowBodyBytes(size_t n);
// True when the library tried to read past that budget.
bool BodyBudgetExceeded();
// True when the current request asked for that (the post-routing hook sets the header).
bool ClosingAfterResponse();
// True when the current request's line and headers were cut off at kMaxHeaderBytes.
bool HeadersTooLarge();

}  // namespace server
}  // namespace fetal
