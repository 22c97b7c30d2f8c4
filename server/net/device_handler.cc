#include "net/device_handler.h"

#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/firmware_codec.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {
namespace {

// How long a freshness statement of an offer is valid: long enough for a slow link to act on
// it, short enough that a frozen offer is noticed (docs/OTA.md "Freshness").
constexpr uint32_t kOfferValidForS = 300;
// What an offer costs against the device's firmware byte rate: it reads sealed records and signs
// once, so a device cannot ask for offers faster than for a few reads (16 per second at the
// default 1 MiB/s).
constexpr double kOfferCostBytes = 64 * 1024;
// A report opens the project's secrets to find its rollouts, as an offer does, and may write the
// registry: charged as much (16 per second at the default; a device sends a few per update).
constexpr double kReportCostBytes = kOfferCostBytes;

// Charges `cost` to the device's bucket of `limit` (null: no limit); RateLimited naming the
// limit (`what`) and the wait when the bucket is empty.
Status Charge(RateLimiter* limit, const DeviceIdentity& who, double cost, std::string_view what) {
  if (limit == nullptr) return Status::Ok();
  const RateDecision d = limit->Admit(who.project + "/" + who.device, WallClockNs(), cost);
  if (d.allowed) return Status::Ok();
  return Status::RateLimited(std::string(what) + " limit of device '" + who.device +
                             "' exceeded; retry in " +
                             std::to_string(d.retry_after_ns / 1'000'000) + " ms");
}

}  // namespace

FrameHandler::Next DeviceHandler::Handle(const protocol::Frame& frame, ReplySink& out) {
  const uint64_t id = frame.request_id();
  const wire::Message type = frame.type();
  outcome_ = {};
  Status s;
  if (type == wire::Message::Hello) {
    Status hello = AnswerHello(frame, limits_, &hello_done_, out);
    outcome_.code = hello.code();
    return hello.ok() ? Next::kContinue : Next::kClose;
  }
  if (!hello_done_) {
    outcome_.code = StatusCode::kPermissionDenied;
    out.push_back(protocol::EncodeError(
        id, Status::PermissionDenied("Hello must be the first frame, before " +
                                     protocol::MessageName(type))));
    return Next::kClose;
  }
  switch (type) {
    case wire::Message::Ping:
      out.push_back(protocol::EncodePong(id));
      return Next::kContinue;
    case wire::Message::Write:
      s = HandleWrite(frame, out);
      break;
    case wire::Message::ListDevices:
      s = HandleListDevices(frame, out);
      break;
    case wire::Message::ListChannels:
      s = HandleListChannels(frame, out);
      break;
    case wire::Message::GetFirmwareOffer:
      s = HandleGetFirmwareOffer(frame, out);
      break;
    case wire::Message::ReadFirmware:
      s = HandleReadFirmware(frame, out);
      break;
    case wire::Message::ReportFirmware:
      s = HandleReportFirmware(frame, out);
      break;
    case wire::Message::Auth:
      s = Status::InvalidArgument(
          "a device is identified by its certificate; Auth is not used on the device port");
      break;
    default:
      s = Status::PermissionDenied(
          protocol::MessageName(type) +
          " is not available to devices (Write, Ping, ListDevices, "
          "ListChannels, GetFirmwareOffer, ReadFirmware, ReportFirmware only)");
  }
  if (!s.ok()) {
    outcome_.code = s.code();
    out.push_back(protocol::EncodeError(id, s));
  }
  return Next::kContinue;
}

Status DeviceHandler::OwnProject(std::string_view project) const {
  if (project == identity_.project) return Status::Ok();
  return Status::NotFound("project '" + std::string(project) + "' does not exist");
}

namespace {
// Label times count as points against a device's rate: each costs a lookup in the catalog.
size_t LabelTimes(const WriteBatch& batch) {
  size_t n = 0;
  for (const WriteBatch::LabelSet& l : batch.label_sets()) n += l.timestamps.size();
  return n;
}
}  // namespace

Status DeviceHandler::HandleWrite(const protocol::Frame& frame, ReplySink& out) {
  protocol::WriteLimits limits;
  limits.max_points = limits_.max_write_points;
  auto request = protocol::DecodeWrite(*frame.As<wire::Write>(), limits, batch_);
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(OwnProject(request->project));
  // Whatever a column says, it must be this device's: one foreign column refuses the batch.
  const auto columns = batch_.columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].device != identity_.device) {
      batch_.Clear();
      return Status::PermissionDenied("column " + std::to_string(i) + " names device '" +
                                      columns[i].device + "': device '" + identity_.device +
                                      "' may write only its own series; nothing was written");
    }
  }
  // And only its own labels (docs/LABELS.md).
  for (const WriteBatch::LabelSet& l : batch_.label_sets()) {
    if (l.device != identity_.device) {
      const std::string other = l.device;
      batch_.Clear();
      return Status::PermissionDenied("labels of device '" + other + "': device '" +
                                      identity_.device +
                                      "' may label only itself; nothing was written");
    }
  }
  if (Status admitted = Charge(&points_limit_, identity_,
                               double(batch_.points() + LabelTimes(batch_)), "points-per-second");
      !admitted.ok()) {
    batch_.Clear();
    return admitted;
  }
  const Status s = db_.Write(identity_.project, identity_.project_id, batch_);
  const uint64_t points = batch_.points();
  batch_.Clear();
  SENSORDB_RETURN_IF_ERROR(s);
  out.push_back(protocol::EncodeWriteReply(frame.request_id(), points, limits_.ack));
  outcome_.points_written = points;
  return Status::Ok();
}

Status DeviceHandler::HandleListDevices(const protocol::Frame& frame, ReplySink& out) {
  auto project = protocol::DecodeListDevices(*frame.As<wire::ListDevices>());
  SENSORDB_RETURN_IF_ERROR(project);
  SENSORDB_RETURN_IF_ERROR(OwnProject(*project));
  auto all = db_.ListDevices(identity_.project);
  SENSORDB_RETURN_IF_ERROR(all);
  std::vector<DeviceInfo> mine;
  for (DeviceInfo& d : *all) {
    if (d.name == identity_.device) mine.push_back(std::move(d));
  }
  out.push_back(protocol::EncodeListDevicesReply(frame.request_id(), mine));
  return Status::Ok();
}

Status DeviceHandler::HandleListChannels(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeListChannels(*frame.As<wire::ListChannels>());
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(OwnProject(request->project));
  if (!request->device.empty() && request->device != identity_.device) {
    return Status::PermissionDenied("device '" + identity_.device +
                                    "' may read only its own configuration");
  }
  auto channels = db_.ListChannels(identity_.project, identity_.device);
  SENSORDB_RETURN_IF_ERROR(channels);
  out.push_back(protocol::EncodeListChannelsReply(frame.request_id(), *channels));
  return Status::Ok();
}

Status DeviceHandler::HandleGetFirmwareOffer(const protocol::Frame& frame, ReplySink& out) {
  if (firmware_.store == nullptr) return Status::NotSupported("firmware is not served here");
  auto request = protocol::DecodeGetFirmwareOffer(*frame.As<wire::GetFirmwareOffer>());
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(OwnProject(request->project));
  SENSORDB_RETURN_IF_ERROR(
      Charge(firmware_.bytes_limit, identity_, kOfferCostBytes, "firmware bytes-per-second"));
  firmware::FirmwareStore& store = *firmware_.store;
  auto offer = store.OfferFor(identity_.project, identity_.device, request->model, request->version,
                              request->security_version);
  SENSORDB_RETURN_IF_ERROR(offer);
  std::optional<uint64_t> id;
  if (*offer) id = (*offer)->id;
  auto statement =
      store.Answer(identity_.project, identity_.device,
                   std::span<const uint8_t, 16>(request->nonce.data(), 16), id, kOfferValidForS);
  SENSORDB_RETURN_IF_ERROR(statement);
  auto roots = store.RootsAfter(identity_.project, request->root_version);
  SENSORDB_RETURN_IF_ERROR(roots);
  protocol::FirmwareOfferView reply;
  reply.statement = *statement;
  if (*offer) {
    reply.manifest = (*offer)->manifest;
    reply.image_id = (*offer)->id;
    reply.image_length = (*offer)->image_length;
  }
  reply.roots.assign(roots->begin(), roots->end());
  out.push_back(protocol::EncodeFirmwareOffer(frame.request_id(), reply));
  return Status::Ok();
}

Status DeviceHandler::HandleReadFirmware(const protocol::Frame& frame, ReplySink& out) {
  if (firmware_.store == nullptr) return Status::NotSupported("firmware is not served here");
  auto request = protocol::DecodeReadFirmware(*frame.As<wire::ReadFirmware>());
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(OwnProject(request->project));
  // Charged before the lookups, refused or not: a device cannot make the server read records
  // for free.
  SENSORDB_RETURN_IF_ERROR(Charge(firmware_.bytes_limit, identity_, double(request->length),
                                  "firmware bytes-per-second"));
  firmware::FirmwareStore& store = *firmware_.store;
  SENSORDB_RETURN_IF_ERROR(
      store.CheckOffered(identity_.project, identity_.device, request->image_id));
  std::string bytes;
  const Status read = store.ReadImage(identity_.project, request->image_id, request->offset,
                                      request->length, &bytes);
  if (read.code() == StatusCode::kInvalidArgument) {
    // The engine's message names internal ids; the device needs only what was wrong.
    return Status::InvalidArgument("offset " + std::to_string(request->offset) +
                                   " is past the end of firmware image " +
                                   firmware::ReleaseIdText(request->image_id));
  }
  SENSORDB_RETURN_IF_ERROR(read);
  outcome_.firmware_bytes = bytes.size();
  out.push_back(protocol::EncodeFirmwareData(
      frame.request_id(),
      {request->offset, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}}));
  return Status::Ok();
}

Status DeviceHandler::HandleReportFirmware(const protocol::Frame& frame, ReplySink& out) {
  if (firmware_.store == nullptr || firmware_.reports == nullptr) {
    return Status::NotSupported("firmware is not served here");
  }
  auto request = protocol::DecodeReportFirmware(*frame.As<wire::ReportFirmware>());
  SENSORDB_RETURN_IF_ERROR(request);
  SENSORDB_RETURN_IF_ERROR(OwnProject(request->project));
  SENSORDB_RETURN_IF_ERROR(
      Charge(firmware_.bytes_limit, identity_, kReportCostBytes, "firmware bytes-per-second"));
  // A device reports only on what a rollout named it for (paused, halted or cancelled since).
  SENSORDB_RETURN_IF_ERROR(
      firmware_.store->CheckNamed(identity_.project, identity_.device, request->image_id));
  FirmwareReport report;
  report.release = request->image_id;
  report.step = request->step;
  report.reason = request->reason;
  report.version = request->version;
  report.security_version = request->security_version;
  report.root_version = request->root_version;
  report.at_ns = WallClockNs();
  SENSORDB_RETURN_IF_ERROR(firmware_.reports->ReportFirmware(identity_, report));
  outcome_.firmware_step = report.step;
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

}  // namespace sensordb::server
