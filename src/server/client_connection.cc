// Finds a request's socket by its address pair, and tells whether the peer has gone.
#include "server/client_connection.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace silica {
namespace {

// Highest descriptor number scanned: descriptors are handed out lowest first, so the search
// ends early in practice; the cap bounds it when the process limit is huge.
constexpr int kMaxScannedFd = 65536;

bool endpoint_is(const sockaddr_storage& sa, socklen_t len, const std::string& addr, int port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&sa), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  return port == std::atoi(serv) && addr == host;
}

}  // namespace

ClientConnection::ClientConnection(const httplib::Request& req) {
  if (req.remote_port < 0 || req.local_port < 0) return;
  rlimit rl{};
  int limit = kMaxScannedFd;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = int(std::min<rlim_t>(rl.rlim_cur, kMaxScannedFd));
  for (int fd = 0; fd < limit; ++fd) {
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (endpoint_is(peer, peer_len, req.remote_addr, req.remote_port) &&
        endpoint_is(local, local_len, req.local_addr, req.local_port)) {
      fd_ = fd;
      return;
    }
  }
}

bool ClientConnection::closed() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP)) return true;
  // Readable: either the peer sent more (a pipelined request: still there) or end of stream.
  char c;
  const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace silica
