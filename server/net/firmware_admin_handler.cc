// RequestHandler's firmware administration (protocol/README.md "Firmware administration",
// docs/OTA.md): the project's freshness key, trust roots, releases and rollouts, through the
// server's FirmwareStore. Each decodes its request and checks the operation with
// AuthorizeProject (manage-firmware; listing: query). Every change (the freshness key's
// creation included), and every refused upload of a root or release (a forged manifest is worth
// knowing about), is an audit entry, recorded after the change like key rotations.
#include "devices/device_registry.h"
#include "firmware/firmware_store.h"
#include "net/request_handler.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/firmware_codec.h"

namespace sensordb::server {
namespace {

protocol::FirmwareReleaseView ReleaseView(const firmware::Release& r) {
  return {r.id,
          r.complete,
          r.hardware_model,
          r.version,
          r.security_version,
          r.root_version,
          r.image_length,
          r.expires_unix_s,
          r.uploaded_unix_s,
          r.complete ? std::span<const uint8_t>(r.manifest_sha256) : std::span<const uint8_t>()};
}

// The rollout as a listing shows it now: the wave open at this time.
protocol::RolloutView RolloutView(const firmware::Rollout& r) {
  protocol::RolloutView v;
  v.id = r.id;
  v.release = r.release;
  v.state = uint8_t(r.state);
  v.created_unix_s = r.created_unix_s;
  v.devices.assign(r.devices.begin(), r.devices.end());
  v.waves = r.plan.waves;
  v.failure_percent = r.plan.failure_percent;
  v.soak_s = r.plan.soak_s;
  v.wave = firmware::OpenWave(r, WallClockNs() / kNanosPerSecond);
  v.wave_opened_unix_s = firmware::WaveOpensAt(r, v.wave);
  v.device_waves = r.device_waves;
  v.counted_since_unix_s = r.counted_since_unix_s;
  v.model = r.plan.model;
  if (!r.plan.model.empty()) v.wave_key = r.wave_key;  // not secret: predicts waves, for status
  return v;
}

std::string RolloutText(const firmware::Rollout& r) {
  return "rollout " + std::to_string(r.id) + " of release " + firmware::ReleaseIdText(r.release) +
         " (" +
         (r.plan.model.empty() ? std::to_string(r.devices.size()) + " device(s)"
                               : "every device of model " + r.plan.model) +
         ", waves " + firmware::WavesText(r.plan.waves) + ", halt above " +
         std::to_string(r.plan.failure_percent) + " % failed, soak " +
         std::to_string(r.plan.soak_s) + " s): " + std::string(firmware::RolloutStateName(r.state));
}

}  // namespace

Result<firmware::FirmwareStore*> RequestHandler::Firmware() {
  if (limits_.firmware == nullptr) {
    return Err(Status::FailedPrecondition("firmware is not served by this listener"));
  }
  return limits_.firmware;
}

Status RequestHandler::HandleGetFreshnessKey(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto name = protocol::DecodeGetFreshnessKey(*frame.As<wire::GetFreshnessKey>());
  SENSORDB_RETURN_IF_ERROR(name);
  auto project = AuthorizeProject(*name, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  bool created = false;
  auto key = store->FreshnessKey(project->name, &created);
  SENSORDB_RETURN_IF_ERROR(key);
  if (created) {
    SENSORDB_RETURN_IF_ERROR(
        auth_.Record({*principal_, peer_, WallClockNs()}, AuditAction::kFirmwareKeyCreated,
                     project->id, AuditOutcome::kSuccess, "freshness key " + firmware::Hex(*key)));
  }
  out.push_back(protocol::EncodeFreshnessKeyReply(frame.request_id(), *key));
  return Status::Ok();
}

Status RequestHandler::HandleUploadFirmwareRoot(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto request = protocol::DecodeUploadFirmwareRoot(*frame.As<wire::UploadFirmwareRoot>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto version = store->AddRoot(project->name, request->root);
  if (!version) {
    auth_
        .Record(actor, AuditAction::kFirmwareRootAdded, project->id, AuditOutcome::kFailure,
                "trust root refused: " + version.error().message())
        .IgnoreError();
    return version.error();
  }
  SENSORDB_RETURN_IF_ERROR(auth_.Record(actor, AuditAction::kFirmwareRootAdded, project->id,
                                        AuditOutcome::kSuccess,
                                        "trust root version " + std::to_string(*version)));
  out.push_back(protocol::EncodeUploadFirmwareRootReply(frame.request_id(), *version));
  return Status::Ok();
}

Status RequestHandler::HandleUploadFirmware(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto request = protocol::DecodeUploadFirmware(*frame.As<wire::UploadFirmware>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  // The image is already in the frame: the store hashes and seals it chunk by chunk.
  size_t at = 0;
  const std::span<const uint8_t> image = request->image;
  auto release = store->AddRelease(project->name, request->manifest,
                                   [&](std::span<uint8_t> buf) -> Result<size_t> {
                                     const size_t n = std::min(buf.size(), image.size() - at);
                                     std::copy_n(image.begin() + long(at), n, buf.begin());
                                     at += n;
                                     return n;
                                   });
  if (!release) {
    auth_
        .Record(actor, AuditAction::kFirmwareReleaseAdded, project->id, AuditOutcome::kFailure,
                "release refused: " + release.error().message())
        .IgnoreError();
    return release.error();
  }
  SENSORDB_RETURN_IF_ERROR(auth_.Record(
      actor, AuditAction::kFirmwareReleaseAdded, project->id, AuditOutcome::kSuccess,
      "release " + firmware::ReleaseIdText(release->id) + ": " + release->hardware_model + " " +
          release->version + " (security version " + std::to_string(release->security_version) +
          "), " + std::to_string(release->image_length) + " bytes"));
  out.push_back(protocol::EncodeFirmwareRelease(frame.request_id(), ReleaseView(*release)));
  return Status::Ok();
}

Status RequestHandler::HandleListFirmware(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto name = protocol::DecodeListFirmware(*frame.As<wire::ListFirmware>());
  SENSORDB_RETURN_IF_ERROR(name);
  auto project = AuthorizeProject(*name, Operation::kQuery);
  SENSORDB_RETURN_IF_ERROR(project);
  auto releases = store->Releases(project->name);
  SENSORDB_RETURN_IF_ERROR(releases);
  auto rollouts = store->Rollouts(project->name);
  SENSORDB_RETURN_IF_ERROR(rollouts);
  protocol::FirmwareListView list;
  for (const auto& r : *releases) list.releases.push_back(ReleaseView(r));
  for (const auto& r : *rollouts) list.rollouts.push_back(RolloutView(r));
  out.push_back(protocol::EncodeListFirmwareReply(frame.request_id(), list));
  return Status::Ok();
}

Status RequestHandler::HandleRemoveFirmware(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto request = protocol::DecodeRemoveFirmware(*frame.As<wire::RemoveFirmware>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  SENSORDB_RETURN_IF_ERROR(store->DeleteRelease(project->name, request->release));
  SENSORDB_RETURN_IF_ERROR(auth_.Record(
      {*principal_, peer_, WallClockNs()}, AuditAction::kFirmwareReleaseRemoved, project->id,
      AuditOutcome::kSuccess, "release " + firmware::ReleaseIdText(request->release)));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleCreateRollout(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto request = protocol::DecodeCreateRollout(*frame.As<wire::CreateRollout>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  std::vector<uint64_t> dropped;
  firmware::RolloutPlan plan;
  if (!request->waves.empty()) plan.waves = request->waves;
  plan.failure_percent = request->failure_percent;
  plan.soak_s = request->soak_s;
  plan.model = request->model;
  auto rollout = store->CreateRollout(
      project->name, request->release,
      std::vector<std::string>(request->devices.begin(), request->devices.end()), plan, &dropped);
  SENSORDB_RETURN_IF_ERROR(rollout);
  std::string detail = "created " + RolloutText(*rollout);
  if (!dropped.empty()) {
    detail += "; cancelled rollouts dropped to make room:";
    for (const uint64_t id : dropped) detail += " " + std::to_string(id);
  }
  SENSORDB_RETURN_IF_ERROR(auth_.Record({*principal_, peer_, WallClockNs()},
                                        AuditAction::kFirmwareRolloutChanged, project->id,
                                        AuditOutcome::kSuccess, std::move(detail)));
  out.push_back(protocol::EncodeRolloutInfo(frame.request_id(), RolloutView(*rollout)));
  return Status::Ok();
}

Status RequestHandler::HandleSetRolloutState(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(firmware::FirmwareStore * store, Firmware());
  auto request = protocol::DecodeSetRolloutState(*frame.As<wire::SetRolloutState>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageFirmware);
  SENSORDB_RETURN_IF_ERROR(project);
  bool changed = false;
  auto rollout = store->SetRolloutState(project->name, request->rollout,
                                        firmware::RolloutState(request->state), &changed);
  SENSORDB_RETURN_IF_ERROR(rollout);
  if (changed) {  // asking for the state it has changes nothing, and records nothing
    SENSORDB_RETURN_IF_ERROR(auth_.Record({*principal_, peer_, WallClockNs()},
                                          AuditAction::kFirmwareRolloutChanged, project->id,
                                          AuditOutcome::kSuccess, RolloutText(*rollout)));
  }
  out.push_back(protocol::EncodeRolloutInfo(frame.request_id(), RolloutView(*rollout)));
  return Status::Ok();
}

Status RequestHandler::HandleListDeviceFirmware(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_ASSIGN_OR_RETURN(DeviceRegistry * devices, Devices());
  auto request = protocol::DecodeListDeviceFirmware(*frame.As<wire::ListDeviceFirmware>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto reports = devices->ListFirmware(actor, request->project, request->device);
  SENSORDB_RETURN_IF_ERROR(reports);
  std::vector<protocol::DeviceFirmwareView> views;
  views.reserve(reports->size());
  for (const auto& [device, r] : *reports) {
    views.push_back({device, r.release, r.step, r.reason, r.version, r.security_version,
                     r.root_version, r.at_ns / kNanosPerSecond});
  }
  out.push_back(protocol::EncodeDeviceFirmwareList(frame.request_id(), views));
  return Status::Ok();
}

}  // namespace sensordb::server
