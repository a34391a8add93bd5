// Watches the TCP connection a request came on, so a non-streamed generation can stop when the
// client hangs up (cpp-httplib 0.11 gives a handler no access to its socket).
#pragma once

#include <string>

namespace httplib {
struct Request;
}

namespace silica {

class ClientConnection {
 public:
  // Finds the socket whose local and peer addresses are those of `req`; none found (a test
  // harness without a socket) leaves the watch disabled.
  explicit ClientConnection(const httplib::Request& req);
  // True once the peer has closed or reset the connection. Never blocks.
  bool closed() const;

 private:
  int fd_ = -1;
};

}  // namespace silica
