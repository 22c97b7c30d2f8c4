// Device identity requests and replies (device_codec.h). Every string a peer sends is bounded
// here; the server checks the CSR itself (signature, key type) after.
#include "sensordb/protocol/device_codec.h"

#include <string>

#include "sensordb/protocol/admin_codec.h"

namespace sensordb::protocol {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::String> Str(FlatBufferBuilder& fbb, std::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

Result<std::string_view> Name(const flatbuffers::String* s, std::string_view what) {
  return CheckString(s, what, kMaxNameBytes, true);
}

Result<std::string_view> Pem(const flatbuffers::String* s, std::string_view what, size_t max) {
  return CheckString(s, what, max, true);
}

}  // namespace

// ---- EnrollDevice ------------------------------------------------------------------------------

OutFrame EncodeEnrollDevice(uint64_t request_id, const EnrollDeviceRequest& request) {
  FlatBufferBuilder fbb(256 + request.csr_pem.size());
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto csr = Str(fbb, request.csr_pem);
  auto msg = wire::CreateEnrollDevice(fbb, project, device, csr, request.days);
  return FinishEnvelope(fbb, request_id, wire::Message::EnrollDevice, msg.Union());
}

Result<EnrollDeviceRequest> DecodeEnrollDevice(const wire::EnrollDevice& request) {
  EnrollDeviceRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device, Name(request.device(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(out.csr_pem, Pem(request.csr_pem(), "CSR", kMaxCsrPemBytes));
  out.days = request.days();
  return out;
}

OutFrame EncodeEnrollDeviceReply(uint64_t request_id, const EnrolledView& reply) {
  FlatBufferBuilder fbb(512 + reply.certificate_pem.size() + reply.chain_pem.size());
  auto cert = Str(fbb, reply.certificate_pem);
  auto chain = Str(fbb, reply.chain_pem);
  auto serial = Str(fbb, reply.serial);
  auto fingerprint = Str(fbb, reply.fingerprint);
  auto msg = wire::CreateEnrollDeviceReply(fbb, cert, chain, serial, fingerprint,
                                           reply.not_after_ns, reply.not_before_ns);
  return FinishEnvelope(fbb, request_id, wire::Message::EnrollDeviceReply, msg.Union());
}

Result<EnrolledView> DecodeEnrollDeviceReply(const wire::EnrollDeviceReply& reply) {
  EnrolledView out;
  SENSORDB_ASSIGN_OR_RETURN(out.certificate_pem,
                            Pem(reply.certificate_pem(), "certificate", kMaxCertPemBytes));
  SENSORDB_ASSIGN_OR_RETURN(out.chain_pem, Pem(reply.chain_pem(), "chain", kMaxCertPemBytes));
  SENSORDB_ASSIGN_OR_RETURN(out.serial,
                            CheckString(reply.serial(), "serial", kMaxSerialBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(
      out.fingerprint, CheckString(reply.fingerprint(), "fingerprint", kMaxFingerprintBytes, true));
  out.not_before_ns = reply.not_before_ns();
  out.not_after_ns = reply.not_after_ns();
  return out;
}

// ---- ListDeviceCerts ---------------------------------------------------------------------------

OutFrame EncodeListDeviceCerts(uint64_t request_id, const ListDeviceCertsRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto msg = wire::CreateListDeviceCerts(fbb, project, device);
  return FinishEnvelope(fbb, request_id, wire::Message::ListDeviceCerts, msg.Union());
}

Result<ListDeviceCertsRequest> DecodeListDeviceCerts(const wire::ListDeviceCerts& request) {
  ListDeviceCertsRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(request.device(), "device name", kMaxNameBytes, false));
  return out;
}

OutFrame EncodeListDeviceCertsReply(uint64_t request_id, std::span<const DeviceCertView> certs) {
  FlatBufferBuilder fbb(256 + 320 * certs.size());
  std::vector<Offset<wire::DeviceCertInfo>> offsets;
  offsets.reserve(certs.size());
  for (const DeviceCertView& c : certs) {
    auto device = Str(fbb, c.device);
    auto serial = Str(fbb, c.serial);
    auto fingerprint = Str(fbb, c.fingerprint);
    auto model = Str(fbb, c.model);
    auto firmware = Str(fbb, c.firmware_version);
    offsets.push_back(wire::CreateDeviceCertInfo(fbb, device, serial, fingerprint,
                                                 c.not_before_ns, c.not_after_ns, c.issued_ns,
                                                 c.revoked_ns, c.last_seen_ns, c.device_revoked,
                                                 model, firmware));
  }
  auto msg = wire::CreateListDeviceCertsReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListDeviceCertsReply, msg.Union());
}

Result<std::vector<DeviceCertView>> DecodeListDeviceCertsReply(
    const wire::ListDeviceCertsReply& reply) {
  std::vector<DeviceCertView> out;
  if (reply.certificates() == nullptr) return out;
  out.reserve(reply.certificates()->size());
  for (const wire::DeviceCertInfo* c : *reply.certificates()) {
    DeviceCertView v;
    SENSORDB_ASSIGN_OR_RETURN(v.device, Name(c->device(), "device name"));
    SENSORDB_ASSIGN_OR_RETURN(v.serial, CheckString(c->serial(), "serial", kMaxSerialBytes, true));
    SENSORDB_ASSIGN_OR_RETURN(
        v.fingerprint, CheckString(c->fingerprint(), "fingerprint", kMaxFingerprintBytes, true));
    SENSORDB_ASSIGN_OR_RETURN(v.model,
                              CheckString(c->model(), "device model", kMaxTextBytes, false));
    SENSORDB_ASSIGN_OR_RETURN(
        v.firmware_version,
        CheckString(c->firmware_version(), "firmware version", kMaxTextBytes, false));
    v.not_before_ns = c->not_before_ns();
    v.not_after_ns = c->not_after_ns();
    v.issued_ns = c->issued_ns();
    v.revoked_ns = c->revoked_ns();
    v.last_seen_ns = c->last_seen_ns();
    v.device_revoked = c->device_revoked();
    out.push_back(v);
  }
  return out;
}

// ---- Revocation --------------------------------------------------------------------------------

OutFrame EncodeRevokeDeviceCert(uint64_t request_id, const RevokeDeviceCertRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto serial = Str(fbb, request.serial);
  auto msg = wire::CreateRevokeDeviceCert(fbb, project, device, serial);
  return FinishEnvelope(fbb, request_id, wire::Message::RevokeDeviceCert, msg.Union());
}

Result<RevokeDeviceCertRequest> DecodeRevokeDeviceCert(const wire::RevokeDeviceCert& request) {
  RevokeDeviceCertRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device, Name(request.device(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(out.serial,
                            CheckString(request.serial(), "serial", kMaxSerialBytes, true));
  return out;
}

OutFrame EncodeRevokeDevice(uint64_t request_id, const RevokeDeviceRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto msg = wire::CreateRevokeDevice(fbb, project, device);
  return FinishEnvelope(fbb, request_id, wire::Message::RevokeDevice, msg.Union());
}

Result<RevokeDeviceRequest> DecodeRevokeDevice(const wire::RevokeDevice& request) {
  RevokeDeviceRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device, Name(request.device(), "device name"));
  return out;
}

// ---- The device CA -----------------------------------------------------------------------------

OutFrame EncodeGetDeviceCa(uint64_t request_id, std::string_view project) {
  FlatBufferBuilder fbb(128);
  auto name = Str(fbb, project);
  auto msg = wire::CreateGetDeviceCa(fbb, name);
  return FinishEnvelope(fbb, request_id, wire::Message::GetDeviceCa, msg.Union());
}

Result<std::string_view> DecodeGetDeviceCa(const wire::GetDeviceCa& request) {
  return Name(request.project(), "project name");
}

OutFrame EncodeGetDeviceCaReply(uint64_t request_id, std::string_view ca_pem) {
  FlatBufferBuilder fbb(256 + ca_pem.size());
  auto pem = Str(fbb, ca_pem);
  auto msg = wire::CreateGetDeviceCaReply(fbb, pem);
  return FinishEnvelope(fbb, request_id, wire::Message::GetDeviceCaReply, msg.Union());
}

Result<std::string_view> DecodeGetDeviceCaReply(const wire::GetDeviceCaReply& reply) {
  return Pem(reply.ca_pem(), "CA certificate", kMaxCertPemBytes);
}

}  // namespace sensordb::protocol
