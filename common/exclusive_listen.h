#ifndef EROOM_COMMON_EXCLUSIVE_LISTEN_H_
#define EROOM_COMMON_EXCLUSIVE_LISTEN_H_

#include <sys/socket.h>

#include "httplib.h"

namespace eroom {

// Makes `server` bind its port alone. cpp-httplib sets SO_REUSEPORT by
// default, which lets a second server started on the same port bind it too
// and take part of the connections instead of failing to start. Only
// SO_REUSEADDR is kept, so that a restart does not wait out TIME_WAIT.
inline void ListenExclusively(httplib::Server& server) {
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

}  // namespace eroom

#endif  // EROOM_COMMON_EXCLUSIVE_LISTEN_H_
