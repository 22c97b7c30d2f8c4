// AsyncClient's device identity requests (protocol/README.md "Device identity"): encoders and
// decoders around Impl::CallOne. The decoders copy what the reply's views point at, since the
// frame dies with the callback.
#include "async_client_impl.h"
#include "sensordb/protocol/device_codec.h"

namespace sensordb::client {

std::future<Result<EnrolledCertificate>> AsyncClient::Enroll(std::string_view project,
                                                             std::string_view device,
                                                             std::string_view csr_pem,
                                                             uint32_t days) {
  return impl_->CallOne<Result<EnrolledCertificate>>(
      impl_->Options("EnrollDevice"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeEnrollDevice(id, {project, device, csr_pem, days});
      },
      [](const Frame& f) -> Result<EnrolledCertificate> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::EnrollDeviceReply>(f, "EnrollDevice"));
        SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeEnrollDeviceReply(*m));
        return EnrolledCertificate{std::string(v.certificate_pem), std::string(v.chain_pem),
                                   std::string(v.serial),          std::string(v.fingerprint),
                                   v.not_before_ns,                v.not_after_ns};
      });
}

std::future<Result<std::vector<DeviceCertificate>>> AsyncClient::ListDeviceCerts(
    std::string_view project, std::string_view device) {
  return impl_->CallOne<Result<std::vector<DeviceCertificate>>>(
      impl_->Options("ListDeviceCerts"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeListDeviceCerts(id, {project, device});
      },
      [](const Frame& f) -> Result<std::vector<DeviceCertificate>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::ListDeviceCertsReply>(f, "ListDeviceCerts"));
        SENSORDB_ASSIGN_OR_RETURN(const auto views, protocol::DecodeListDeviceCertsReply(*m));
        std::vector<DeviceCertificate> out;
        out.reserve(views.size());
        for (const auto& v : views) {
          out.push_back({std::string(v.device), std::string(v.serial),
                         std::string(v.fingerprint), v.not_before_ns, v.not_after_ns,
                         v.issued_ns, v.revoked_ns, v.last_seen_ns, v.device_revoked,
                         std::string(v.model), std::string(v.firmware_version)});
        }
        return out;
      });
}

std::future<Status> AsyncClient::RevokeDeviceCert(std::string_view project,
                                                  std::string_view device,
                                                  std::string_view serial) {
  return impl_->CallOne<Status>(
      impl_->Options("RevokeDeviceCert"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRevokeDeviceCert(id, {project, device, serial});
      },
      [](const Frame& f) { return OkIf(Expect<wire::Done>(f, "RevokeDeviceCert")); });
}

std::future<Status> AsyncClient::RevokeDevice(std::string_view project, std::string_view device) {
  return impl_->CallOne<Status>(
      impl_->Options("RevokeDevice"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRevokeDevice(id, {project, device});
      },
      [](const Frame& f) { return OkIf(Expect<wire::Done>(f, "RevokeDevice")); });
}

std::future<Result<std::string>> AsyncClient::GetDeviceCa(std::string_view project) {
  return impl_->CallOne<Result<std::string>>(
      impl_->Options("GetDeviceCa"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeGetDeviceCa(id, project); },
      [](const Frame& f) -> Result<std::string> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::GetDeviceCaReply>(f, "GetDeviceCa"));
        SENSORDB_ASSIGN_OR_RETURN(const auto pem, protocol::DecodeGetDeviceCaReply(*m));
        return std::string(pem);
      });
}

}  // namespace sensordb::client
