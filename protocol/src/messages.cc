#include "sensordb/protocol/messages.h"

#include <string>

namespace sensordb::protocol {
namespace {

std::string ToString(uint64_t v) { return std::to_string(v); }

}  // namespace

Result<std::string_view> CheckString(const flatbuffers::String* s, std::string_view what,
                                     size_t max_bytes, bool required) {
  std::string_view v = s ? s->string_view() : std::string_view();
  if (required && v.empty()) {
    return Err(Status::InvalidArgument(std::string(what) + " is missing"));
  }
  if (v.size() > max_bytes) {
    return Err(Status::InvalidArgument(std::string(what) + " of " + ToString(v.size()) +
                                       " bytes is longer than the maximum of " +
                                       ToString(max_bytes)));
  }
  return v;
}

// ---- Errors ------------------------------------------------------------------------------------

wire::ErrorCode ToWire(StatusCode code) {
  // The two enums share their numbers (checked in messages_test.cc).
  return static_cast<wire::ErrorCode>(static_cast<uint8_t>(code));
}

OutFrame EncodeError(uint64_t request_id, const Status& status) {
  flatbuffers::FlatBufferBuilder fbb(256 + status.message().size());
  std::string_view message = status.message();
  if (message.size() > kMaxErrorMessageBytes) message = message.substr(0, kMaxErrorMessageBytes);
  auto msg = fbb.CreateString(message.data(), message.size());
  auto error = wire::CreateError(fbb, ToWire(status.code()), msg);
  return FinishEnvelope(fbb, request_id, wire::Message::Error, error.Union());
}

Status DecodeError(const wire::Error& error) {
  std::string message = error.message() ? error.message()->str() : std::string();
  if (message.size() > kMaxErrorMessageBytes) message.resize(kMaxErrorMessageBytes);
  const auto code = static_cast<uint8_t>(error.code());
  if (code == 0 || code > static_cast<uint8_t>(kLastStatusCode)) {
    return Status::Internal("peer sent an error with code " + ToString(code) +
                            (code == 0 ? " (OK)" : " (unknown to this version)") + ": " + message);
  }
  return Status(static_cast<StatusCode>(code), std::move(message));
}

// ---- Durability --------------------------------------------------------------------------------

wire::Durability ToWire(Durability durability) {
  return durability == Durability::kSync ? wire::Durability::Sync : wire::Durability::Async;
}

Result<Durability> FromWire(wire::Durability durability) {
  switch (durability) {
    case wire::Durability::Sync:
      return Durability::kSync;
    case wire::Durability::Async:
      return Durability::kAsync;
  }
  return Err(
      Status::InvalidArgument("unknown durability " + ToString(static_cast<uint8_t>(durability))));
}

// ---- Connection setup --------------------------------------------------------------------------

OutFrame EncodeHello(uint64_t request_id, const HelloRequest& hello) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto name = fbb.CreateString(hello.client_name.data(), hello.client_name.size());
  auto msg = wire::CreateHello(fbb, hello.min_version, hello.max_version, name);
  return FinishEnvelope(fbb, request_id, wire::Message::Hello, msg.Union());
}

Result<HelloRequest> DecodeHello(const wire::Hello& hello) {
  HelloRequest out;
  out.min_version = hello.min_version();
  out.max_version = hello.max_version();
  if (out.min_version == 0 || out.min_version > out.max_version) {
    return Err(Status::InvalidArgument("hello: bad protocol version range " +
                                       ToString(out.min_version) + "-" +
                                       ToString(out.max_version)));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      out.client_name, CheckString(hello.client_name(), "client name", kMaxClientNameBytes, false));
  return out;
}

Result<uint16_t> NegotiateVersion(const HelloRequest& client, uint16_t server_min,
                                  uint16_t server_max) {
  const uint16_t lo = std::max(client.min_version, server_min);
  const uint16_t hi = std::min(client.max_version, server_max);
  if (lo > hi) {
    return Err(Status::NotSupported(
        "no common protocol version: the client speaks " + ToString(client.min_version) + "-" +
        ToString(client.max_version) + ", the server " + ToString(server_min) + "-" +
        ToString(server_max) + "; upgrade the older side"));
  }
  return hi;
}

OutFrame EncodeHelloReply(uint64_t request_id, const HelloReplyInfo& reply) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto name = fbb.CreateString(reply.server_name.data(), reply.server_name.size());
  auto msg = wire::CreateHelloReply(fbb, reply.version, name, reply.max_frame_bytes,
                                    reply.max_write_points);
  return FinishEnvelope(fbb, request_id, wire::Message::HelloReply, msg.Union());
}

Result<HelloReplyInfo> DecodeHelloReply(const wire::HelloReply& reply) {
  HelloReplyInfo out;
  out.version = reply.version();
  out.max_frame_bytes = reply.max_frame_bytes();
  out.max_write_points = reply.max_write_points();
  if (out.version < kMinProtocolVersion || out.version > kMaxProtocolVersion) {
    return Err(Status::NotSupported("the server chose protocol version " + ToString(out.version) +
                                    ", this client speaks " + ToString(kMinProtocolVersion) + "-" +
                                    ToString(kMaxProtocolVersion)));
  }
  if (out.max_frame_bytes < kMinMaxFrameBytes || out.max_write_points == 0) {
    return Err(Status::InvalidArgument("hello reply: unusable limits (max_frame_bytes " +
                                       ToString(out.max_frame_bytes) + ", max_write_points " +
                                       ToString(out.max_write_points) + ")"));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      out.server_name, CheckString(reply.server_name(), "server name", kMaxClientNameBytes, false));
  return out;
}

OutFrame EncodeAuth(uint64_t request_id, const AuthRequest& auth) {
  flatbuffers::FlatBufferBuilder fbb(256);
  flatbuffers::Offset<wire::Auth> msg;
  if (auth.is_token()) {
    auto cred = wire::CreateTokenCredential(fbb, fbb.CreateString(auth.token));
    msg = wire::CreateAuth(fbb, wire::Credential::TokenCredential, cred.Union());
  } else {
    auto user = fbb.CreateString(auth.user);
    auto password = fbb.CreateString(auth.password);
    auto cred = wire::CreatePasswordCredential(fbb, user, password);
    msg = wire::CreateAuth(fbb, wire::Credential::PasswordCredential, cred.Union());
  }
  return FinishEnvelope(fbb, request_id, wire::Message::Auth, msg.Union());
}

Result<AuthRequest> DecodeAuth(const wire::Auth& auth) {
  AuthRequest out;
  if (const auto* token = auth.credential_as_TokenCredential()) {
    SENSORDB_ASSIGN_OR_RETURN(out.token,
                              CheckString(token->token(), "token", kMaxSecretBytes, true));
    return out;
  }
  if (const auto* password = auth.credential_as_PasswordCredential()) {
    SENSORDB_ASSIGN_OR_RETURN(out.user,
                              CheckString(password->user(), "user name", kMaxNameBytes, true));
    SENSORDB_ASSIGN_OR_RETURN(out.password,
                              CheckString(password->password(), "password", kMaxSecretBytes, true));
    return out;
  }
  return Err(Status::InvalidArgument("auth carries no known credential (type " +
                                     ToString(static_cast<uint8_t>(auth.credential_type())) +
                                     "); send a token or a user and password"));
}

OutFrame EncodeAuthReply(uint64_t request_id, const AuthReplyInfo& reply) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto principal = fbb.CreateString(reply.principal.data(), reply.principal.size());
  auto msg = wire::CreateAuthReply(fbb, principal, reply.kind, reply.superuser);
  return FinishEnvelope(fbb, request_id, wire::Message::AuthReply, msg.Union());
}

Result<AuthReplyInfo> DecodeAuthReply(const wire::AuthReply& reply) {
  AuthReplyInfo out;
  SENSORDB_ASSIGN_OR_RETURN(out.principal,
                            CheckString(reply.principal(), "principal", kMaxNameBytes, false));
  out.kind = reply.kind();
  if (out.kind != wire::PrincipalKind::User && out.kind != wire::PrincipalKind::ServiceAccount) {
    return Err(Status::InvalidArgument("auth reply: unknown principal kind " +
                                       ToString(static_cast<uint8_t>(out.kind))));
  }
  out.superuser = reply.superuser();
  return out;
}

}  // namespace sensordb::protocol
