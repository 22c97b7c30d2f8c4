// AsyncClient's firmware administration requests (protocol/README.md "Firmware
// administration"): encoders and decoders around Impl::CallOne. The decoders copy what the
// reply's views point at, since the frame dies with the callback.
#include <algorithm>

#include "async_client_impl.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/firmware_codec.h"

namespace sensordb::client {
namespace {

FirmwareRelease CopyRelease(const protocol::FirmwareReleaseView& v) {
  FirmwareRelease r;
  r.id = v.id;
  r.complete = v.complete;
  r.hardware_model = std::string(v.hardware_model);
  r.version = std::string(v.version);
  r.security_version = v.security_version;
  r.root_version = v.root_version;
  r.image_length = v.image_length;
  r.expires_unix_s = v.expires_unix_s;
  r.uploaded_unix_s = v.uploaded_unix_s;
  std::copy_n(v.manifest_sha256.begin(),
              std::min(v.manifest_sha256.size(), r.manifest_sha256.size()),
              r.manifest_sha256.begin());
  return r;
}

FirmwareRollout CopyRollout(const protocol::RolloutView& v) {
  FirmwareRollout r;
  r.id = v.id;
  r.release = v.release;
  r.state = RolloutState(v.state);
  r.created_unix_s = v.created_unix_s;
  r.devices.assign(v.devices.begin(), v.devices.end());
  r.plan = {v.waves, v.failure_percent, v.soak_s, std::string(v.model)};
  r.wave = v.wave;
  r.wave_opened_unix_s = v.wave_opened_unix_s;
  r.device_waves = v.device_waves;
  r.counted_since_unix_s = v.counted_since_unix_s;
  r.wave_key.assign(v.wave_key.begin(), v.wave_key.end());
  return r;
}

Result<FirmwareRollout> RolloutReply(const Frame& f, std::string_view what) {
  SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::RolloutInfo>(f, what));
  SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeRolloutInfo(*m));
  return CopyRollout(v);
}

}  // namespace

std::future<Result<std::array<uint8_t, 32>>> AsyncClient::GetFreshnessKey(
    std::string_view project) {
  return impl_->CallOne<Result<std::array<uint8_t, 32>>>(
      impl_->Options("GetFreshnessKey"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeGetFreshnessKey(id, project); },
      [](const Frame& f) -> Result<std::array<uint8_t, 32>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::FreshnessKeyReply>(f, "GetFreshnessKey"));
        SENSORDB_ASSIGN_OR_RETURN(const auto key, protocol::DecodeFreshnessKeyReply(*m));
        std::array<uint8_t, 32> out{};
        std::copy_n(key.begin(), out.size(), out.begin());
        return out;
      });
}

std::future<Result<uint64_t>> AsyncClient::UploadFirmwareRoot(std::string_view project,
                                                              std::span<const uint8_t> root) {
  return impl_->CallOne<Result<uint64_t>>(
      impl_->Options("UploadFirmwareRoot"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeUploadFirmwareRoot(id, {project, root});
      },
      [](const Frame& f) -> Result<uint64_t> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::UploadFirmwareRootReply>(f, "UploadFirmwareRoot"));
        return protocol::DecodeUploadFirmwareRootReply(*m);
      });
}

std::future<Result<FirmwareRelease>> AsyncClient::UploadFirmware(std::string_view project,
                                                                 std::span<const uint8_t> manifest,
                                                                 std::span<const uint8_t> image) {
  return impl_->CallOne<Result<FirmwareRelease>>(
      impl_->Options("UploadFirmware"),
      [&](uint64_t id) -> Result<OutFrame> {
        OutFrame frame = protocol::EncodeUploadFirmware(id, {project, manifest, image});
        // Refused here, before the server would have to refuse it from its header and close
        // the connection.
        const uint32_t limit = impl_->session.max_frame_bytes;
        if (limit != 0 && frame.payload().size() > limit) {
          return Err(Status::ResourceExhausted(
              "the release (" + std::to_string(image.size()) + "-byte image) needs a frame of " +
              std::to_string(frame.payload().size()) + " bytes; the server accepts frames up to " +
              std::to_string(limit) + " bytes (its limits.max_frame_bytes); nothing was sent"));
        }
        return frame;
      },
      [](const Frame& f) -> Result<FirmwareRelease> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::FirmwareRelease>(f, "UploadFirmware"));
        SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeFirmwareRelease(*m));
        return CopyRelease(v);
      });
}

std::future<Result<FirmwareListing>> AsyncClient::ListFirmware(std::string_view project) {
  return impl_->CallOne<Result<FirmwareListing>>(
      impl_->Options("ListFirmware"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListFirmware(id, project); },
      [](const Frame& f) -> Result<FirmwareListing> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::ListFirmwareReply>(f, "ListFirmware"));
        SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeListFirmwareReply(*m));
        FirmwareListing out;
        for (const auto& r : v.releases) out.releases.push_back(CopyRelease(r));
        for (const auto& r : v.rollouts) out.rollouts.push_back(CopyRollout(r));
        return out;
      });
}

std::future<Status> AsyncClient::RemoveFirmware(std::string_view project, uint64_t release) {
  return impl_->CallOne<Status>(
      impl_->Options("RemoveFirmware"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRemoveFirmware(id, {project, release});
      },
      [](const Frame& f) { return OkIf(Expect<wire::Done>(f, "RemoveFirmware")); });
}

std::future<Result<FirmwareRollout>> AsyncClient::CreateRollout(
    std::string_view project, uint64_t release, const std::vector<std::string>& devices,
    const RolloutPlan& plan) {
  return impl_->CallOne<Result<FirmwareRollout>>(
      impl_->Options("CreateRollout"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeCreateRollout(
            id, {project, release, std::vector<std::string_view>(devices.begin(), devices.end()),
                 plan.waves, plan.failure_percent, plan.soak_s, plan.model});
      },
      [](const Frame& f) { return RolloutReply(f, "CreateRollout"); });
}

std::future<Result<FirmwareRollout>> AsyncClient::SetRolloutState(std::string_view project,
                                                                  uint64_t rollout,
                                                                  RolloutState state) {
  return impl_->CallOne<Result<FirmwareRollout>>(
      impl_->Options("SetRolloutState"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeSetRolloutState(id, {project, rollout, uint8_t(state)});
      },
      [](const Frame& f) { return RolloutReply(f, "SetRolloutState"); });
}

std::future<Result<std::vector<DeviceFirmware>>> AsyncClient::ListDeviceFirmware(
    std::string_view project, std::string_view device) {
  return impl_->CallOne<Result<std::vector<DeviceFirmware>>>(
      impl_->Options("ListDeviceFirmware"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeListDeviceFirmware(id, {project, device});
      },
      [](const Frame& f) -> Result<std::vector<DeviceFirmware>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::DeviceFirmwareList>(f, "ListDeviceFirmware"));
        SENSORDB_ASSIGN_OR_RETURN(const auto views, protocol::DecodeDeviceFirmwareList(*m));
        std::vector<DeviceFirmware> out;
        out.reserve(views.size());
        for (const auto& v : views) {
          out.push_back({std::string(v.device), v.image_id, v.step, std::string(v.reason),
                         std::string(v.version), v.security_version, v.root_version,
                         v.reported_unix_s});
        }
        return out;
      });
}

}  // namespace sensordb::client
