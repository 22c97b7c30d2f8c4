// Building and reading the small messages of the native protocol: errors, the hello and
// authentication steps, administration, liveness. Writes are in write_codec.h, queries in
// query_codec.h. Encode* return a frame ready to send; Decode* take a message of a verified frame
// (Frame::As<T>()), check what the schema cannot (ranges, sizes, known enum values) and return
// views that point into that frame: keep the frame alive while using them. Thread-safe (pure
// functions).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sensordb/protocol/frame.h"
#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::protocol {

// Bounds on the strings a peer may send, checked by every Decode*.
inline constexpr size_t kMaxNameBytes = 255;        // project, device, channel, user names
inline constexpr size_t kMaxClientNameBytes = 256;  // Hello.client_name, HelloReply.server_name
inline constexpr size_t kMaxSecretBytes = 4096;     // tokens and passwords
inline constexpr size_t kMaxErrorMessageBytes = 64 * 1024;
inline constexpr uint32_t kDefaultMaxWritePoints = 1024 * 1024;

// ---- Errors ------------------------------------------------------------------------------------

wire::ErrorCode ToWire(StatusCode code);
// An Error for `status` (not OK); its message is cut to kMaxErrorMessageBytes.
OutFrame EncodeError(uint64_t request_id, const Status& status);
// The Status an Error carries. An unknown code (from a newer peer) or OK becomes kInternal
// with a message that says so; the peer's message is kept.
Status DecodeError(const wire::Error& error);

// ---- Durability --------------------------------------------------------------------------------

wire::Durability ToWire(Durability durability);
Result<Durability> FromWire(wire::Durability durability);

// ---- Connection setup --------------------------------------------------------------------------

struct HelloRequest {
  uint16_t min_version = kMinProtocolVersion;
  uint16_t max_version = kMaxProtocolVersion;
  std::string_view client_name;
};
OutFrame EncodeHello(uint64_t request_id, const HelloRequest& hello);
Result<HelloRequest> DecodeHello(const wire::Hello& hello);

// The highest version both ranges hold, or kNotSupported saying both ranges.
Result<uint16_t> NegotiateVersion(const HelloRequest& client,
                                  uint16_t server_min = kMinProtocolVersion,
                                  uint16_t server_max = kMaxProtocolVersion);

struct HelloReplyInfo {
  uint16_t version = kMaxProtocolVersion;
  std::string_view server_name;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  uint32_t max_write_points = kDefaultMaxWritePoints;
};
OutFrame EncodeHelloReply(uint64_t request_id, const HelloReplyInfo& reply);
// Also checks that the version is one this library speaks and the limits are usable.
Result<HelloReplyInfo> DecodeHelloReply(const wire::HelloReply& reply);

// Exactly one way to authenticate: `token`, or `user` with `password`.
struct AuthRequest {
  std::string_view token = {};
  std::string_view user = {};
  std::string_view password = {};
  bool is_token() const { return !token.empty(); }
};
OutFrame EncodeAuth(uint64_t request_id, const AuthRequest& auth);
Result<AuthRequest> DecodeAuth(const wire::Auth& auth);

struct AuthReplyInfo {
  std::string_view principal;
  wire::PrincipalKind kind = wire::PrincipalKind::User;
  bool superuser = false;
};
OutFrame EncodeAuthReply(uint64_t request_id, const AuthReplyInfo& reply);
Result<AuthReplyInfo> DecodeAuthReply(const wire::AuthReply& reply);

// ---- Administration ----------------------------------------------------------------------------

struct CreateProjectRequest {
  std::string_view name;
  ProjectOptions options;
};
OutFrame EncodeCreateProject(uint64_t request_id, const CreateProjectRequest& request);
Result<CreateProjectRequest> DecodeCreateProject(const wire::CreateProject& request);
OutFrame EncodeCreateProjectReply(uint64_t request_id, const ProjectInfo& project);
Result<ProjectInfo> DecodeCreateProjectReply(const wire::CreateProjectReply& reply);

OutFrame EncodeListProjects(uint64_t request_id);
OutFrame EncodeListProjectsReply(uint64_t request_id, std::span<const ProjectInfo> projects);
Result<std::vector<ProjectInfo>> DecodeListProjectsReply(const wire::ListProjectsReply& reply);

OutFrame EncodeDropProject(uint64_t request_id, std::string_view name);
Result<std::string_view> DecodeDropProject(const wire::DropProject& request);
OutFrame EncodeDropProjectReply(uint64_t request_id);

// ---- Liveness ----------------------------------------------------------------------------------

OutFrame EncodePing(uint64_t request_id);
OutFrame EncodePong(uint64_t request_id);

// ---- Helpers shared by the codecs
// ----------------------------------------------------------------

// The string `s` (null: absent) as a view, or kInvalidArgument naming `what` when it is longer
// than `max_bytes`, or absent/empty while `required`.
Result<std::string_view> CheckString(const flatbuffers::String* s, std::string_view what,
                                     size_t max_bytes, bool required);

}  // namespace sensordb::protocol
