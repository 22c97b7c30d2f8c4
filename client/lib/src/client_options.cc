// ValidateOptions: the checks AsyncClient::Connect makes before it opens a socket.
#include "sensordb/client/client_options.h"

#include "sensordb/protocol/messages.h"

namespace sensordb::client {

Status ValidateOptions(const ClientOptions& o) {
  if (o.host.empty()) return Status::InvalidArgument("host is empty");
  if (o.port == 0) return Status::InvalidArgument("port is 0; the server's port is needed");
  const Credentials& c = o.credentials;
  const bool token = !c.token.empty();
  const bool password = !c.user.empty() || !c.password.empty();
  if (token == password) {
    return Status::InvalidArgument(
        "credentials: give either a token, or a user and a password (exactly one of them)");
  }
  if (password && (c.user.empty() || c.password.empty())) {
    return Status::InvalidArgument("credentials: a user login needs both a user and a password");
  }
  if (c.user.size() > protocol::kMaxNameBytes) {
    return Status::InvalidArgument("credentials: the user name is longer than 255 bytes");
  }
  if (c.token.size() > protocol::kMaxSecretBytes || c.password.size() > protocol::kMaxSecretBytes) {
    return Status::InvalidArgument("credentials: the token or password is longer than 4096 bytes");
  }
  if (o.client_name.size() > protocol::kMaxClientNameBytes) {
    return Status::InvalidArgument("client_name is longer than 256 bytes");
  }
  if (o.connect_timeout_ms == 0) return Status::InvalidArgument("connect_timeout_ms is 0");
  if (o.max_in_flight == 0)
    return Status::InvalidArgument("max_in_flight is 0; at least 1 is needed");
  if (o.max_frame_bytes < protocol::kMinMaxFrameBytes) {
    return Status::InvalidArgument("max_frame_bytes is " + std::to_string(o.max_frame_bytes) +
                                   ", below the protocol's minimum of 65536");
  }
  return Status::Ok();
}

}  // namespace sensordb::client
