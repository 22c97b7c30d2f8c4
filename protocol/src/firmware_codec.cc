// Firmware transfer messages (firmware_codec.h). Every byte string a peer sends is bounded here.
#include "sensordb/protocol/firmware_codec.h"

#include <algorithm>
#include <string>

namespace sensordb::protocol {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::String> Str(FlatBufferBuilder& fbb, std::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

Offset<flatbuffers::Vector<uint8_t>> Bytes(FlatBufferBuilder& fbb, std::span<const uint8_t> b) {
  return fbb.CreateVector(b.data(), b.size());
}

Result<std::span<const uint8_t>> CheckBytes(const flatbuffers::Vector<uint8_t>* v,
                                            std::string_view what, size_t max_bytes,
                                            bool required) {
  if (v == nullptr || v->size() == 0) {
    if (required) return Err(Status::InvalidArgument(std::string(what) + " is missing"));
    return std::span<const uint8_t>();
  }
  if (v->size() > max_bytes) {
    return Err(Status::InvalidArgument(std::string(what) + " is " + std::to_string(v->size()) +
                                       " bytes; at most " + std::to_string(max_bytes)));
  }
  return std::span<const uint8_t>(v->data(), v->size());
}

Result<std::string_view> Project(const flatbuffers::String* s) {
  return CheckString(s, "project name", kMaxNameBytes, true);
}

Offset<wire::FirmwareRelease> BuildRelease(FlatBufferBuilder& fbb, const FirmwareReleaseView& r) {
  auto model = Str(fbb, r.hardware_model);
  auto version = Str(fbb, r.version);
  auto hash = Bytes(fbb, r.manifest_sha256);
  return wire::CreateFirmwareRelease(fbb, r.id, r.complete, model, version, r.security_version,
                                     r.root_version, r.image_length, r.expires_unix_s,
                                     r.uploaded_unix_s, hash);
}

Result<FirmwareReleaseView> ViewRelease(const wire::FirmwareRelease& r) {
  FirmwareReleaseView out;
  out.id = r.id();
  out.complete = r.complete();
  SENSORDB_ASSIGN_OR_RETURN(
      out.hardware_model, CheckString(r.hardware_model(), "hardware model", kMaxNameBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(out.version, CheckString(r.version(), "version", kMaxNameBytes, false));
  out.security_version = r.security_version();
  out.root_version = r.root_version();
  out.image_length = r.image_length();
  out.expires_unix_s = r.expires_unix_s();
  out.uploaded_unix_s = r.uploaded_unix_s();
  SENSORDB_ASSIGN_OR_RETURN(out.manifest_sha256, CheckBytes(r.manifest_sha256(), "manifest hash",
                                                            kFirmwareHashBytes, false));
  if (!out.manifest_sha256.empty() && out.manifest_sha256.size() != kFirmwareHashBytes) {
    return Err(Status::InvalidArgument("a manifest hash is 32 bytes"));
  }
  return out;
}

using NameVector = flatbuffers::Vector<Offset<flatbuffers::String>>;

Offset<NameVector> BuildNames(FlatBufferBuilder& fbb, const std::vector<std::string_view>& names) {
  std::vector<Offset<flatbuffers::String>> offsets;
  offsets.reserve(names.size());
  for (const auto n : names) offsets.push_back(Str(fbb, n));
  return fbb.CreateVector(offsets);
}

Result<std::vector<std::string_view>> ViewDevices(const NameVector* names, bool required) {
  std::vector<std::string_view> out;
  const size_t n = names == nullptr ? 0 : names->size();
  if (n > kMaxRolloutDevicesOnWire || (required && n == 0)) {
    return Err(Status::InvalidArgument("a rollout names 1 to " +
                                       std::to_string(kMaxRolloutDevicesOnWire) + " devices, not " +
                                       std::to_string(n)));
  }
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    SENSORDB_ASSIGN_OR_RETURN(const auto d, CheckString(names->Get(flatbuffers::uoffset_t(i)),
                                                        "device name", kMaxNameBytes, true));
    out.push_back(d);
  }
  return out;
}

Offset<wire::RolloutInfo> BuildRollout(FlatBufferBuilder& fbb, const RolloutView& r) {
  auto devices = BuildNames(fbb, r.devices);
  auto waves = Bytes(fbb, r.waves);
  auto device_waves = Bytes(fbb, r.device_waves);
  auto model = Str(fbb, r.model);
  auto key = Bytes(fbb, r.wave_key);
  return wire::CreateRolloutInfo(fbb, r.id, r.release, r.state, r.created_unix_s, devices, waves,
                                 r.failure_percent, r.soak_s, r.wave, r.wave_opened_unix_s,
                                 device_waves, r.counted_since_unix_s, model, key);
}

// A rollout's states on the wire; `max` 3 where a client sets one (halted is the server's).
Result<uint8_t> CheckState(uint8_t state, uint8_t max) {
  if (state < 1 || state > max) {
    return Err(Status::InvalidArgument("rollout state " + std::to_string(state) +
                                       " is not 1 (running), 2 (paused), 3 (cancelled)" +
                                       (max > 3 ? " or 4 (halted)" : "")));
  }
  return state;
}

// Waves as percentages (at most 8: the store checks the rest).
Result<std::vector<uint8_t>> ViewWaves(const flatbuffers::Vector<uint8_t>* v) {
  SENSORDB_ASSIGN_OR_RETURN(const auto bytes, CheckBytes(v, "waves", 8, false));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Result<RolloutView> ViewRollout(const wire::RolloutInfo& r) {
  RolloutView out;
  out.id = r.id();
  out.release = r.release();
  SENSORDB_ASSIGN_OR_RETURN(out.state, CheckState(r.state(), 4));
  out.created_unix_s = r.created_unix_s();
  SENSORDB_ASSIGN_OR_RETURN(out.devices, ViewDevices(r.devices(), false));
  SENSORDB_ASSIGN_OR_RETURN(out.waves, ViewWaves(r.waves()));
  out.failure_percent = r.failure_percent();
  out.soak_s = r.soak_s();
  out.wave = r.wave();
  out.wave_opened_unix_s = r.wave_opened_unix_s();
  out.counted_since_unix_s = r.counted_since_unix_s();
  SENSORDB_ASSIGN_OR_RETURN(out.model, CheckString(r.model(), "model", kMaxNameBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(out.wave_key, CheckBytes(r.wave_key(), "wave key", 16, false));
  if (out.model.empty() != out.wave_key.empty() ||
      (!out.wave_key.empty() && out.wave_key.size() != 16)) {
    return Err(Status::InvalidArgument("a model target carries its 16-byte wave key, a list none"));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      const auto dw, CheckBytes(r.device_waves(), "device waves", kMaxRolloutDevicesOnWire, false));
  out.device_waves.assign(dw.begin(), dw.end());
  if (!out.device_waves.empty() && out.device_waves.size() != out.devices.size()) {
    return Err(Status::InvalidArgument("a rollout's device waves do not match its devices"));
  }
  // Waves index the percentages: a wave beyond them is refused here, not trusted by a reader.
  const size_t waves = std::max<size_t>(out.waves.size(), 1);
  if (out.wave >= waves || std::any_of(out.device_waves.begin(), out.device_waves.end(),
                                       [&](uint8_t w) { return w >= waves; })) {
    return Err(Status::InvalidArgument("a rollout names a wave it does not have"));
  }
  for (const int64_t t : {out.created_unix_s, out.wave_opened_unix_s, out.counted_since_unix_s}) {
    if (t < 0 || t > kMaxFirmwareTime) {
      return Err(Status::InvalidArgument("a rollout's time is out of range"));
    }
  }
  return out;
}

// A short printable text of a report (reason, version); empty allowed.
Result<std::string_view> ReportText(const flatbuffers::String* s, std::string_view what) {
  SENSORDB_ASSIGN_OR_RETURN(const auto t, CheckString(s, what, kMaxFirmwareReasonBytes, false));
  for (char c : t) {
    if (uint8_t(c) < 0x20 || uint8_t(c) > 0x7e) {
      return Err(
          Status::InvalidArgument(std::string(what) + " is printable ASCII only (0x20-0x7e)"));
    }
  }
  return t;
}

Result<uint8_t> CheckStep(uint8_t step) {
  if (step < 1 || step > kMaxFirmwareStepOnWire) {
    return Err(Status::InvalidArgument("firmware step " + std::to_string(step) +
                                       " is not 1 (offered) .. 7 (failed)"));
  }
  return step;
}

}  // namespace

OutFrame EncodeGetFirmwareOffer(uint64_t request_id, const FirmwareOfferRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto nonce = Bytes(fbb, request.nonce);
  auto model = Str(fbb, request.model);
  auto version = Str(fbb, request.version);
  auto msg = wire::CreateGetFirmwareOffer(fbb, project, nonce, model, version,
                                          request.security_version, request.root_version);
  return FinishEnvelope(fbb, request_id, wire::Message::GetFirmwareOffer, msg.Union());
}

Result<FirmwareOfferRequest> DecodeGetFirmwareOffer(const wire::GetFirmwareOffer& request) {
  FirmwareOfferRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(request.project(), "project name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.nonce,
                            CheckBytes(request.nonce(), "nonce", kFirmwareNonceBytes, true));
  if (out.nonce.size() != kFirmwareNonceBytes) {
    return Err(Status::InvalidArgument("nonce is " + std::to_string(out.nonce.size()) +
                                       " bytes; it must be " +
                                       std::to_string(kFirmwareNonceBytes)));
  }
  SENSORDB_ASSIGN_OR_RETURN(out.model,
                            CheckString(request.model(), "hardware model", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.version,
                            CheckString(request.version(), "version", kMaxNameBytes, false));
  out.security_version = request.security_version();
  out.root_version = request.root_version();
  return out;
}

OutFrame EncodeFirmwareOffer(uint64_t request_id, const FirmwareOfferView& reply) {
  size_t size = 256 + reply.statement.size() + reply.manifest.size();
  for (const auto& r : reply.roots) size += r.size() + 16;
  FlatBufferBuilder fbb(size);
  std::vector<Offset<wire::FirmwareFile>> roots;
  roots.reserve(reply.roots.size());
  for (const auto& r : reply.roots) roots.push_back(wire::CreateFirmwareFile(fbb, Bytes(fbb, r)));
  auto roots_vec = fbb.CreateVector(roots);
  auto statement = Bytes(fbb, reply.statement);
  Offset<flatbuffers::Vector<uint8_t>> manifest;
  if (!reply.manifest.empty()) manifest = Bytes(fbb, reply.manifest);
  auto msg = wire::CreateFirmwareOffer(fbb, statement, manifest, reply.image_id, reply.image_length,
                                       roots_vec);
  return FinishEnvelope(fbb, request_id, wire::Message::FirmwareOffer, msg.Union());
}

Result<FirmwareOfferView> DecodeFirmwareOffer(const wire::FirmwareOffer& reply) {
  FirmwareOfferView out;
  SENSORDB_ASSIGN_OR_RETURN(out.statement, CheckBytes(reply.statement(), "freshness statement",
                                                      kMaxFirmwareFileBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.manifest,
                            CheckBytes(reply.manifest(), "manifest", kMaxFirmwareFileBytes, false));
  out.image_id = reply.image_id();
  out.image_length = reply.image_length();
  if (out.manifest.empty() != (out.image_id == 0)) {
    return Err(
        Status::InvalidArgument("an offer carries both a manifest and an image id, or "
                                "neither"));
  }
  if (const auto* roots = reply.roots()) {
    if (roots->size() > kMaxFirmwareRoots) {
      return Err(Status::InvalidArgument("an offer carries " + std::to_string(roots->size()) +
                                         " roots; at most " + std::to_string(kMaxFirmwareRoots)));
    }
    for (const auto* r : *roots) {
      SENSORDB_ASSIGN_OR_RETURN(auto bytes,
                                CheckBytes(r->bytes(), "root", kMaxFirmwareFileBytes, true));
      out.roots.push_back(bytes);
    }
  }
  return out;
}

OutFrame EncodeReadFirmware(uint64_t request_id, const ReadFirmwareRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto msg =
      wire::CreateReadFirmware(fbb, project, request.image_id, request.offset, request.length);
  return FinishEnvelope(fbb, request_id, wire::Message::ReadFirmware, msg.Union());
}

Result<ReadFirmwareRequest> DecodeReadFirmware(const wire::ReadFirmware& request) {
  ReadFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(request.project(), "project name", kMaxNameBytes, true));
  out.image_id = request.image_id();
  out.offset = request.offset();
  out.length = request.length();
  if (out.image_id == 0) return Err(Status::InvalidArgument("image id is missing"));
  if (out.length == 0 || out.length > kMaxFirmwareReadBytes) {
    return Err(Status::InvalidArgument("read length " + std::to_string(out.length) +
                                       " is outside 1 .. " +
                                       std::to_string(kMaxFirmwareReadBytes)));
  }
  return out;
}

OutFrame EncodeFirmwareData(uint64_t request_id, const FirmwareDataView& reply) {
  FlatBufferBuilder fbb(64 + reply.bytes.size());
  auto bytes = Bytes(fbb, reply.bytes);
  auto msg = wire::CreateFirmwareData(fbb, reply.offset, bytes);
  return FinishEnvelope(fbb, request_id, wire::Message::FirmwareData, msg.Union());
}

Result<FirmwareDataView> DecodeFirmwareData(const wire::FirmwareData& reply) {
  FirmwareDataView out;
  out.offset = reply.offset();
  SENSORDB_ASSIGN_OR_RETURN(
      out.bytes, CheckBytes(reply.bytes(), "firmware data", kMaxFirmwareReadBytes, false));
  return out;
}

// ---- Administration ----------------------------------------------------------------------------

OutFrame EncodeGetFreshnessKey(uint64_t request_id, std::string_view project) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateGetFreshnessKey(fbb, Str(fbb, project));
  return FinishEnvelope(fbb, request_id, wire::Message::GetFreshnessKey, msg.Union());
}

Result<std::string_view> DecodeGetFreshnessKey(const wire::GetFreshnessKey& request) {
  return Project(request.project());
}

OutFrame EncodeFreshnessKeyReply(uint64_t request_id, std::span<const uint8_t> public_key) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateFreshnessKeyReply(fbb, Bytes(fbb, public_key));
  return FinishEnvelope(fbb, request_id, wire::Message::FreshnessKeyReply, msg.Union());
}

Result<std::span<const uint8_t>> DecodeFreshnessKeyReply(const wire::FreshnessKeyReply& reply) {
  SENSORDB_ASSIGN_OR_RETURN(
      auto key, CheckBytes(reply.public_key(), "freshness key", kFirmwareKeyBytes, true));
  if (key.size() != kFirmwareKeyBytes) {
    return Err(Status::InvalidArgument("a freshness key is 32 bytes"));
  }
  return key;
}

OutFrame EncodeUploadFirmwareRoot(uint64_t request_id, const UploadFirmwareRootRequest& request) {
  FlatBufferBuilder fbb(128 + request.root.size());
  auto project = Str(fbb, request.project);
  auto root = Bytes(fbb, request.root);
  auto msg = wire::CreateUploadFirmwareRoot(fbb, project, root);
  return FinishEnvelope(fbb, request_id, wire::Message::UploadFirmwareRoot, msg.Union());
}

Result<UploadFirmwareRootRequest> DecodeUploadFirmwareRoot(
    const wire::UploadFirmwareRoot& request) {
  UploadFirmwareRootRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  SENSORDB_ASSIGN_OR_RETURN(out.root,
                            CheckBytes(request.root(), "root", kMaxFirmwareFileBytes, true));
  return out;
}

OutFrame EncodeUploadFirmwareRootReply(uint64_t request_id, uint64_t version) {
  FlatBufferBuilder fbb(64);
  auto msg = wire::CreateUploadFirmwareRootReply(fbb, version);
  return FinishEnvelope(fbb, request_id, wire::Message::UploadFirmwareRootReply, msg.Union());
}

uint64_t DecodeUploadFirmwareRootReply(const wire::UploadFirmwareRootReply& reply) {
  return reply.version();
}

OutFrame EncodeUploadFirmware(uint64_t request_id, const UploadFirmwareRequest& request) {
  FlatBufferBuilder fbb(256 + request.manifest.size() + request.image.size());
  auto project = Str(fbb, request.project);
  auto manifest = Bytes(fbb, request.manifest);
  auto image = Bytes(fbb, request.image);
  auto msg = wire::CreateUploadFirmware(fbb, project, manifest, image);
  return FinishEnvelope(fbb, request_id, wire::Message::UploadFirmware, msg.Union());
}

Result<UploadFirmwareRequest> DecodeUploadFirmware(const wire::UploadFirmware& request) {
  UploadFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  SENSORDB_ASSIGN_OR_RETURN(
      out.manifest, CheckBytes(request.manifest(), "manifest", kMaxFirmwareFileBytes, true));
  const auto* image = request.image();
  if (image != nullptr) out.image = {image->data(), image->size()};
  return out;
}

OutFrame EncodeFirmwareRelease(uint64_t request_id, const FirmwareReleaseView& reply) {
  FlatBufferBuilder fbb(256);
  auto msg = BuildRelease(fbb, reply);
  return FinishEnvelope(fbb, request_id, wire::Message::FirmwareRelease, msg.Union());
}

Result<FirmwareReleaseView> DecodeFirmwareRelease(const wire::FirmwareRelease& reply) {
  return ViewRelease(reply);
}

OutFrame EncodeRolloutInfo(uint64_t request_id, const RolloutView& reply) {
  FlatBufferBuilder fbb(128 + 32 * reply.devices.size());
  auto msg = BuildRollout(fbb, reply);
  return FinishEnvelope(fbb, request_id, wire::Message::RolloutInfo, msg.Union());
}

Result<RolloutView> DecodeRolloutInfo(const wire::RolloutInfo& reply) { return ViewRollout(reply); }

OutFrame EncodeListFirmware(uint64_t request_id, std::string_view project) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateListFirmware(fbb, Str(fbb, project));
  return FinishEnvelope(fbb, request_id, wire::Message::ListFirmware, msg.Union());
}

Result<std::string_view> DecodeListFirmware(const wire::ListFirmware& request) {
  return Project(request.project());
}

OutFrame EncodeListFirmwareReply(uint64_t request_id, const FirmwareListView& reply) {
  FlatBufferBuilder fbb(1024);
  std::vector<Offset<wire::FirmwareRelease>> releases;
  releases.reserve(reply.releases.size());
  for (const auto& r : reply.releases) releases.push_back(BuildRelease(fbb, r));
  auto releases_vec = fbb.CreateVector(releases);
  std::vector<Offset<wire::RolloutInfo>> rollouts;
  rollouts.reserve(reply.rollouts.size());
  for (const auto& r : reply.rollouts) rollouts.push_back(BuildRollout(fbb, r));
  auto rollouts_vec = fbb.CreateVector(rollouts);
  auto msg = wire::CreateListFirmwareReply(fbb, releases_vec, rollouts_vec);
  return FinishEnvelope(fbb, request_id, wire::Message::ListFirmwareReply, msg.Union());
}

Result<FirmwareListView> DecodeListFirmwareReply(const wire::ListFirmwareReply& reply) {
  FirmwareListView out;
  const size_t releases = reply.releases() ? reply.releases()->size() : 0;
  const size_t rollouts = reply.rollouts() ? reply.rollouts()->size() : 0;
  if (releases > kMaxFirmwareListEntries || rollouts > kMaxFirmwareListEntries) {
    return Err(Status::InvalidArgument("a firmware listing holds at most " +
                                       std::to_string(kMaxFirmwareListEntries) +
                                       " releases and rollouts"));
  }
  for (size_t i = 0; i < releases; ++i) {
    SENSORDB_ASSIGN_OR_RETURN(auto r,
                              ViewRelease(*reply.releases()->Get(flatbuffers::uoffset_t(i))));
    out.releases.push_back(r);
  }
  for (size_t i = 0; i < rollouts; ++i) {
    SENSORDB_ASSIGN_OR_RETURN(auto r,
                              ViewRollout(*reply.rollouts()->Get(flatbuffers::uoffset_t(i))));
    out.rollouts.push_back(std::move(r));
  }
  return out;
}

OutFrame EncodeRemoveFirmware(uint64_t request_id, const RemoveFirmwareRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto msg = wire::CreateRemoveFirmware(fbb, project, request.release);
  return FinishEnvelope(fbb, request_id, wire::Message::RemoveFirmware, msg.Union());
}

Result<RemoveFirmwareRequest> DecodeRemoveFirmware(const wire::RemoveFirmware& request) {
  RemoveFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  out.release = request.release();
  return out;
}

OutFrame EncodeCreateRollout(uint64_t request_id, const CreateRolloutRequest& request) {
  FlatBufferBuilder fbb(128 + 32 * request.devices.size());
  auto project = Str(fbb, request.project);
  auto devices = BuildNames(fbb, request.devices);
  auto waves = Bytes(fbb, request.waves);
  auto model = Str(fbb, request.model);
  auto msg = wire::CreateCreateRollout(fbb, project, request.release, devices, waves,
                                       request.failure_percent, request.soak_s, model);
  return FinishEnvelope(fbb, request_id, wire::Message::CreateRollout, msg.Union());
}

Result<CreateRolloutRequest> DecodeCreateRollout(const wire::CreateRollout& request) {
  CreateRolloutRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  out.release = request.release();
  SENSORDB_ASSIGN_OR_RETURN(out.model, CheckString(request.model(), "model", kMaxNameBytes, false));
  // A list of devices, or a model and no list.
  SENSORDB_ASSIGN_OR_RETURN(out.devices, ViewDevices(request.devices(), out.model.empty()));
  SENSORDB_ASSIGN_OR_RETURN(out.waves, ViewWaves(request.waves()));
  out.failure_percent = request.failure_percent();
  out.soak_s = request.soak_s();
  return out;
}

OutFrame EncodeSetRolloutState(uint64_t request_id, const SetRolloutStateRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto msg = wire::CreateSetRolloutState(fbb, project, request.rollout, request.state);
  return FinishEnvelope(fbb, request_id, wire::Message::SetRolloutState, msg.Union());
}

Result<SetRolloutStateRequest> DecodeSetRolloutState(const wire::SetRolloutState& request) {
  SetRolloutStateRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  out.rollout = request.rollout();
  SENSORDB_ASSIGN_OR_RETURN(out.state, CheckState(request.state(), 3));
  return out;
}

OutFrame EncodeReportFirmware(uint64_t request_id, const ReportFirmwareRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto reason = Str(fbb, request.reason);
  auto version = Str(fbb, request.version);
  auto msg = wire::CreateReportFirmware(fbb, project, request.image_id, request.step, reason,
                                        version, request.security_version, request.root_version);
  return FinishEnvelope(fbb, request_id, wire::Message::ReportFirmware, msg.Union());
}

Result<ReportFirmwareRequest> DecodeReportFirmware(const wire::ReportFirmware& request) {
  ReportFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  out.image_id = request.image_id();
  if (out.image_id == 0)
    return Err(Status::InvalidArgument("a report names the image it is about"));
  SENSORDB_ASSIGN_OR_RETURN(out.step, CheckStep(request.step()));
  SENSORDB_ASSIGN_OR_RETURN(out.reason, ReportText(request.reason(), "reason"));
  SENSORDB_ASSIGN_OR_RETURN(out.version, ReportText(request.version(), "version"));
  out.security_version = request.security_version();
  out.root_version = request.root_version();
  return out;
}

OutFrame EncodeListDeviceFirmware(uint64_t request_id, const ListDeviceFirmwareRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto msg = wire::CreateListDeviceFirmware(fbb, project, device);
  return FinishEnvelope(fbb, request_id, wire::Message::ListDeviceFirmware, msg.Union());
}

Result<ListDeviceFirmwareRequest> DecodeListDeviceFirmware(
    const wire::ListDeviceFirmware& request) {
  ListDeviceFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Project(request.project()));
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(request.device(), "device name", kMaxNameBytes, false));
  return out;
}

OutFrame EncodeDeviceFirmwareList(uint64_t request_id,
                                  const std::vector<DeviceFirmwareView>& reply) {
  FlatBufferBuilder fbb(128 + 96 * reply.size());
  std::vector<Offset<wire::DeviceFirmware>> entries;
  entries.reserve(reply.size());
  for (const DeviceFirmwareView& d : reply) {
    auto device = Str(fbb, d.device);
    auto reason = Str(fbb, d.reason);
    auto version = Str(fbb, d.version);
    entries.push_back(wire::CreateDeviceFirmware(fbb, device, d.image_id, d.step, reason, version,
                                                 d.security_version, d.root_version,
                                                 d.reported_unix_s));
  }
  auto list = fbb.CreateVector(entries);
  auto msg = wire::CreateDeviceFirmwareList(fbb, list);
  return FinishEnvelope(fbb, request_id, wire::Message::DeviceFirmwareList, msg.Union());
}

Result<std::vector<DeviceFirmwareView>> DecodeDeviceFirmwareList(
    const wire::DeviceFirmwareList& reply) {
  std::vector<DeviceFirmwareView> out;
  const auto* list = reply.devices();
  const size_t n = list == nullptr ? 0 : list->size();
  if (n > kMaxFirmwareListEntries) {
    return Err(Status::InvalidArgument("a firmware status list has at most " +
                                       std::to_string(kMaxFirmwareListEntries) + " devices"));
  }
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const wire::DeviceFirmware* d = list->Get(flatbuffers::uoffset_t(i));
    DeviceFirmwareView v;
    SENSORDB_ASSIGN_OR_RETURN(v.device,
                              CheckString(d->device(), "device name", kMaxNameBytes, true));
    v.image_id = d->image_id();
    SENSORDB_ASSIGN_OR_RETURN(v.step, CheckStep(d->step()));
    SENSORDB_ASSIGN_OR_RETURN(v.reason, ReportText(d->reason(), "reason"));
    SENSORDB_ASSIGN_OR_RETURN(v.version, ReportText(d->version(), "version"));
    v.security_version = d->security_version();
    v.root_version = d->root_version();
    v.reported_unix_s = d->reported_unix_s();
    out.push_back(v);
  }
  return out;
}

}  // namespace sensordb::protocol
