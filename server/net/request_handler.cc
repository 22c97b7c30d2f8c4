#include "net/request_handler.h"

#include <algorithm>
#include <iterator>

#include "devices/device_registry.h"
#include "sensordb/clock.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {

using protocol::OutFrame;

int64_t WallClockNs() { return Clock::System().NowUnixNs(); }

namespace {

// A request of an authenticated session and its handler.
struct RequestEntry {
  wire::Message type;
  Status (RequestHandler::*handler)(const protocol::Frame&, ReplySink&);
};

}  // namespace

RequestHandler::Next RequestHandler::Handle(const protocol::Frame& frame,
                                            ReplySink& out) {
  const uint64_t id = frame.request_id();
  const wire::Message type = frame.type();
  outcome_ = {};
  if (type == wire::Message::Hello) return HandleHello(frame, out);
  if (type == wire::Message::Auth) return HandleAuth(frame, out);
  if (!principal_) {
    outcome_.code = StatusCode::kPermissionDenied;
    out.push_back(protocol::EncodeError(
        id, Status::PermissionDenied("not authenticated: send Hello, then Auth, before " +
                                     protocol::MessageName(type))));
    return Next::kClose;
  }
  // The requests of an authenticated session (Hello, Auth and Ping aside).
  static constexpr RequestEntry kRequests[] = {
      {wire::Message::Write, &RequestHandler::HandleWrite},
      {wire::Message::Query, &RequestHandler::HandleQuery},
      {wire::Message::CreateProject, &RequestHandler::HandleCreateProject},
      {wire::Message::ListProjects, &RequestHandler::HandleListProjects},
      {wire::Message::DropProject, &RequestHandler::HandleDropProject},
      {wire::Message::CreateAccount, &RequestHandler::HandleCreateAccount},
      {wire::Message::ChangePassword, &RequestHandler::HandleChangePassword},
      {wire::Message::SetAccountDisabled, &RequestHandler::HandleSetAccountDisabled},
      {wire::Message::DeleteAccount, &RequestHandler::HandleDeleteAccount},
      {wire::Message::ListAccounts, &RequestHandler::HandleListAccounts},
      {wire::Message::IssueToken, &RequestHandler::HandleIssueToken},
      {wire::Message::RevokeToken, &RequestHandler::HandleRevokeToken},
      {wire::Message::ListTokens, &RequestHandler::HandleListTokens},
      {wire::Message::SetGrant, &RequestHandler::HandleSetGrant},
      {wire::Message::RemoveGrant, &RequestHandler::HandleRemoveGrant},
      {wire::Message::ListGrants, &RequestHandler::HandleListGrants},
      {wire::Message::ReadAudit, &RequestHandler::HandleReadAudit},
      {wire::Message::VerifyAudit, &RequestHandler::HandleVerifyAudit},
      {wire::Message::RegisterDevice, &RequestHandler::HandleRegisterDevice},
      {wire::Message::ListDevices, &RequestHandler::HandleListDevices},
      {wire::Message::RegisterChannel, &RequestHandler::HandleRegisterChannel},
      {wire::Message::ListChannels, &RequestHandler::HandleListChannels},
      {wire::Message::SetRetention, &RequestHandler::HandleSetRetention},
      {wire::Message::RotateProjectKey, &RequestHandler::HandleRotateProjectKey},
      {wire::Message::KeyStatus, &RequestHandler::HandleKeyStatus},
      {wire::Message::Flush, &RequestHandler::HandleMaintenance},
      {wire::Message::Compact, &RequestHandler::HandleMaintenance},
      {wire::Message::EnrollDevice, &RequestHandler::HandleEnrollDevice},
      {wire::Message::ListDeviceCerts, &RequestHandler::HandleListDeviceCerts},
      {wire::Message::RevokeDeviceCert, &RequestHandler::HandleRevokeDeviceCert},
      {wire::Message::RevokeDevice, &RequestHandler::HandleRevokeDevice},
      {wire::Message::GetDeviceCa, &RequestHandler::HandleGetDeviceCa},
      {wire::Message::GetFreshnessKey, &RequestHandler::HandleGetFreshnessKey},
      {wire::Message::UploadFirmwareRoot, &RequestHandler::HandleUploadFirmwareRoot},
      {wire::Message::UploadFirmware, &RequestHandler::HandleUploadFirmware},
      {wire::Message::ListFirmware, &RequestHandler::HandleListFirmware},
      {wire::Message::RemoveFirmware, &RequestHandler::HandleRemoveFirmware},
      {wire::Message::CreateRollout, &RequestHandler::HandleCreateRollout},
      {wire::Message::SetRolloutState, &RequestHandler::HandleSetRolloutState},
      {wire::Message::ListDeviceFirmware, &RequestHandler::HandleListDeviceFirmware},
  };
  // Every request is admitted here, once, before its handler runs: the account still exists
  // and is enabled, its token is valid, and it is within its request rate.
  const auto* entry = std::find_if(std::begin(kRequests), std::end(kRequests),
                                   [type](const RequestEntry& e) { return e.type == type; });
  Status s;
  if (type == wire::Message::Ping) {  // checked like any request: an expired token ends here too
    s = Admit();
    if (s.ok()) out.push_back(protocol::EncodePong(id));
  } else if (entry == std::end(kRequests)) {
    s = protocol::IsKnownMessage(type)
            ? Status::InvalidArgument(protocol::MessageName(type) +
                                      " is not a request a client may send")
            : Status::NotSupported(protocol::MessageName(type) +
                                   " is not supported by this server (protocol version 1)");
  } else {
    s = Admit();
    if (s.ok()) s = (this->*entry->handler)(frame, out);
  }
  if (!s.ok()) {
    outcome_.code = s.code();
    out.push_back(protocol::EncodeError(id, s));
  }
  return Next::kContinue;
}

Status AnswerHello(const protocol::Frame& frame, const SessionLimits& limits, bool* done,
                   ReplySink& out) {
  const uint64_t id = frame.request_id();
  if (*done) {
    Status s = Status::InvalidArgument("Hello sent twice");
    out.push_back(protocol::EncodeError(id, s));
    return s;
  }
  auto hello = protocol::DecodeHello(*frame.As<wire::Hello>());
  Result<uint16_t> version = hello ? protocol::NegotiateVersion(*hello) : Err(hello.error());
  if (!version) {
    out.push_back(protocol::EncodeError(id, version.error()));
    return version.error();
  }
  *done = true;
  protocol::HelloReplyInfo reply;
  reply.version = *version;
  reply.server_name = "sensordbd/0.1.0";
  reply.max_frame_bytes = limits.max_frame_bytes;
  reply.max_write_points = limits.max_write_points;
  out.push_back(protocol::EncodeHelloReply(id, reply));
  return Status::Ok();
}

RequestHandler::Next RequestHandler::HandleHello(const protocol::Frame& frame,
                                                 ReplySink& out) {
  return AnswerHello(frame, limits_, &hello_done_, out).ok() ? Next::kContinue : Next::kClose;
}

RequestHandler::Next RequestHandler::HandleAuth(const protocol::Frame& frame,
                                                ReplySink& out) {
  const uint64_t id = frame.request_id();
  if (!hello_done_) {
    out.push_back(protocol::EncodeError(
        id, Status::PermissionDenied("Hello must be the first frame, before Auth")));
    return Next::kClose;
  }
  if (principal_) {
    out.push_back(protocol::EncodeError(id, Status::InvalidArgument("already authenticated")));
    return Next::kContinue;
  }
  auto auth = protocol::DecodeAuth(*frame.As<wire::Auth>());
  if (!auth) {
    out.push_back(protocol::EncodeError(id, auth.error()));
    return Next::kContinue;
  }
  const Credentials creds = auth->is_token() ? Credentials::Token(auth->token)
                                             : Credentials::Password(auth->user, auth->password);
  AuthResult result = auth_.Authenticate(creds, peer_, WallClockNs());
  if (!result) {
    outcome_.code = result.error().ToStatus().code();
    out.push_back(protocol::EncodeError(id, result.error().ToStatus()));
    return Next::kContinue;  // the client may retry; lockout bounds the attempts
  }
  principal_ = std::move(*result);
  protocol::AuthReplyInfo reply;
  reply.principal = principal_->name;
  reply.kind = principal_->kind == PrincipalKind::kUser ? wire::PrincipalKind::User
                                                        : wire::PrincipalKind::ServiceAccount;
  reply.superuser = principal_->superuser;
  out.push_back(protocol::EncodeAuthReply(id, reply));
  return Next::kContinue;
}

Status RequestHandler::Admit() {
  const int64_t now = WallClockNs();
  SENSORDB_RETURN_IF_ERROR(auth_.Revalidate(*principal_, now));
  const RateDecision d = auth_.AdmitRequest(*principal_, now);
  if (!d.allowed) {
    return Status::RateLimited("request rate limit of account " + principal_->name +
                               " exceeded; retry in " +
                               std::to_string((d.retry_after_ns + 999'999) / 1'000'000) + " ms");
  }
  return Status::Ok();
}

Result<ProjectInfo> RequestHandler::AuthorizeProject(std::string_view name, Operation op) {
  auto project = db_.GetProject(name);
  if (!project && project.error().code() != StatusCode::kNotFound) return Err(project.error());
  ProjectRef ref{project ? std::optional<uint32_t>(project->id) : std::nullopt, name};
  SENSORDB_RETURN_IF_ERROR(auth_.Authorize(*principal_, op, ref));
  SENSORDB_RETURN_IF_ERROR(project);
  return *project;
}

Status RequestHandler::HandleWrite(const protocol::Frame& frame, ReplySink& out) {
  protocol::WriteLimits limits;
  limits.max_points = limits_.max_write_points;
  auto request = protocol::DecodeWrite(*frame.As<wire::Write>(), limits, batch_);
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kWrite);
  SENSORDB_RETURN_IF_ERROR(project);
  SENSORDB_RETURN_IF_ERROR(db_.Write(project->name, project->id, batch_));
  out.push_back(protocol::EncodeWriteReply(frame.request_id(), batch_.points(), limits_.ack));
  outcome_.points_written = batch_.points();
  batch_.Clear();
  return Status::Ok();
}

Status RequestHandler::HandleCreateProject(const protocol::Frame& frame,
                                           ReplySink& out) {
  auto request = protocol::DecodeCreateProject(*frame.As<wire::CreateProject>());
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(auth_.AuthorizeServer(*principal_, Operation::kCreateProject));
  auto project = db_.CreateProject(request->name, request->options);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.ProjectCreated(actor, project->id, project->name));
  out.push_back(protocol::EncodeCreateProjectReply(frame.request_id(), *project));
  return Status::Ok();
}

Status RequestHandler::HandleListProjects(const protocol::Frame& frame,
                                          ReplySink& out) {
  auto all = db_.ListProjects();
  SENSORDB_RETURN_IF_ERROR(all);
  std::vector<ProjectInfo> visible;
  for (ProjectInfo& p : *all) {
    auto role = auth_.grants().RoleOf(principal_->name, p.id);
    SENSORDB_RETURN_IF_ERROR(role);
    if (role->has_value()) visible.push_back(std::move(p));
  }
  out.push_back(protocol::EncodeListProjectsReply(frame.request_id(), visible));
  return Status::Ok();
}

Status RequestHandler::HandleDropProject(const protocol::Frame& frame,
                                         ReplySink& out) {
  auto name = protocol::DecodeDropProject(*frame.As<wire::DropProject>());
  SENSORDB_RETURN_IF_ERROR(name);
  auto project = AuthorizeProject(*name, Operation::kDropProject);
  SENSORDB_RETURN_IF_ERROR(project);
  SENSORDB_RETURN_IF_ERROR(db_.DropProject(project->name));
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.ProjectDropped(actor, project->id, project->name));
  // The CA key went with the project's data key; a failure here leaves records the registry
  // ignores at its next load (their project id no longer exists).
  if (limits_.devices) limits_.devices->ProjectDropped(project->id).IgnoreError();
  out.push_back(protocol::EncodeDropProjectReply(frame.request_id()));
  return Status::Ok();
}

}  // namespace sensordb::server
