// RequestHandler's device identity requests (protocol/README.md "Device identity"): enrolment,
// certificate listing, revocation and the project's device CA. Each decodes its request and
// leaves the permission check, the work and the audit entry to the DeviceRegistry (which answers
// a project the principal has no role in exactly as one that does not exist, like Grants).
#include "devices/device_registry.h"
#include "net/request_handler.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/device_codec.h"

namespace sensordb::server {

Result<DeviceRegistry*> RequestHandler::Devices() {
  if (limits_.devices == nullptr) {
    return Err(Status::FailedPrecondition("device identity is not enabled on this server"));
  }
  return limits_.devices;
}

Status RequestHandler::HandleEnrollDevice(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto request = protocol::DecodeEnrollDevice(*frame.As<wire::EnrollDevice>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto cert = devices->Enroll(actor, request->project, request->device, request->csr_pem,
                              request->days);
  SENSORDB_RETURN_IF_ERROR(cert);
  out.push_back(protocol::EncodeEnrollDeviceReply(
      frame.request_id(), {cert->certificate_pem, cert->chain_pem, cert->serial,
                           cert->fingerprint, cert->not_before_ns, cert->not_after_ns}));
  return Status::Ok();
}

Status RequestHandler::HandleListDeviceCerts(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto request = protocol::DecodeListDeviceCerts(*frame.As<wire::ListDeviceCerts>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto certs = devices->ListCertificates(actor, request->project, request->device);
  SENSORDB_RETURN_IF_ERROR(certs);
  std::vector<protocol::DeviceCertView> views;
  views.reserve(certs->size());
  for (const DeviceCertificateInfo& c : *certs) {
    views.push_back({c.device, c.serial, c.fingerprint, c.not_before_ns, c.not_after_ns,
                     c.issued_ns, c.revoked_ns, c.last_seen_ns, c.device_revoked, c.model,
                     c.firmware_version});
  }
  out.push_back(protocol::EncodeListDeviceCertsReply(frame.request_id(), views));
  return Status::Ok();
}

Status RequestHandler::HandleRevokeDeviceCert(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto request = protocol::DecodeRevokeDeviceCert(*frame.As<wire::RevokeDeviceCert>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(
      devices->RevokeCertificate(actor, request->project, request->device, request->serial));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleRevokeDevice(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto request = protocol::DecodeRevokeDevice(*frame.As<wire::RevokeDevice>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(devices->RevokeDevice(actor, request->project, request->device));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleGetDeviceCa(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto project = protocol::DecodeGetDeviceCa(*frame.As<wire::GetDeviceCa>());
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto pem = devices->EnsureCa(actor, *project);
  SENSORDB_RETURN_IF_ERROR(pem);
  out.push_back(protocol::EncodeGetDeviceCaReply(frame.request_id(), *pem));
  return Status::Ok();
}

}  // namespace sensordb::server
