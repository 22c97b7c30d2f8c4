// The native protocol as a server's session sees it: a byte stream cut into frames by
// FrameDecoder (at the pre-auth frame limit, then at the default one), each verified frame
// handed to every decoder of its message type. The input is split at a position its first
// byte chooses, so that frame headers straddling two reads are exercised too.
#include <cstdint>
#include <span>

#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/device_codec.h"
#include "sensordb/protocol/firmware_codec.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::protocol {
namespace {

// The pre-auth frame limit of server/net/session.h.
constexpr uint32_t kPreAuthMaxFrameBytes = 64 * 1024;

// Decoders return a Result, a Status, or (when nothing can fail) a plain value.
template <typename T>
void Consume(const T&) {}
template <typename T>
void Consume(const Result<T>& r) {
  (void)r.has_value();
}
void Consume(const Status& s) { (void)s.ok(); }

// Every decoder whose only argument is its message.
// clang-format off
#define SENSORDB_FUZZ_MESSAGES(X)                                                              \
  X(AuditChunk) X(AuditEnd) X(Auth) X(AuthReply) X(ChangePassword) X(CreateAccount)            \
  X(CreateProject) X(CreateProjectReply) X(CreateRollout) X(DeleteAccount)                     \
  X(DeviceFirmwareList) X(DropProject) X(EnrollDevice) X(EnrollDeviceReply) X(Error)           \
  X(FirmwareData) X(FirmwareOffer) X(FirmwareRelease) X(FreshnessKeyReply) X(GetDeviceCa)      \
  X(GetDeviceCaReply) X(GetFirmwareOffer) X(GetFreshnessKey) X(Hello) X(HelloReply)            \
  X(IssueToken) X(IssueTokenReply) X(KeyStatusReply) X(ListAccountsReply) X(ListChannels)      \
  X(ListChannelsReply) X(ListDeviceCerts) X(ListDeviceCertsReply) X(ListDeviceFirmware)        \
  X(ListDevices) X(ListDevicesReply) X(ListFirmware) X(ListFirmwareReply) X(ListGrants)        \
  X(ListGrantsReply) X(ListProjectsReply) X(ListTokens) X(ListTokensReply) X(Query)            \
  X(ReadAudit) X(ReadFirmware) X(RegisterChannel) X(RegisterChannelReply) X(RegisterDevice)    \
  X(RemoveFirmware) X(RemoveGrant) X(ReportFirmware) X(RevokeDevice) X(RevokeDeviceCert)       \
  X(RevokeToken) X(RolloutInfo) X(RotateProjectKey) X(RotateProjectKeyReply)                   \
  X(SetAccountDisabled) X(SetGrant) X(SetRetention) X(SetRolloutState) X(UploadFirmware)       \
  X(UploadFirmwareRoot) X(VerifyAudit) X(VerifyAuditReply) X(WriteReply)
// clang-format on

void DecodeEverything(const Frame& frame) {
#define SENSORDB_FUZZ_DECODE(T) \
  if (const auto* m = frame.As<wire::T>()) Consume(Decode##T(*m));
  SENSORDB_FUZZ_MESSAGES(SENSORDB_FUZZ_DECODE)
#undef SENSORDB_FUZZ_DECODE
  if (const auto* m = frame.As<wire::Write>()) {
    WriteBatch batch;
    Consume(DecodeWrite(*m, {}, batch));
  }
  if (const auto* m = frame.As<wire::UploadFirmwareRootReply>()) {
    Consume(DecodeUploadFirmwareRootReply(*m));
  }
  if (const auto* m = frame.As<wire::QueryChunk>()) {
    if (m->raw()) {
      for (size_t i = 0; i < m->raw()->size(); ++i) Consume(ViewColumn(*m->raw()->Get(i), i));
    }
    if (m->latest()) {
      for (size_t i = 0; i < m->latest()->size(); ++i) Consume(ViewLatest(*m->latest()->Get(i), i));
    }
    if (m->aggregate()) {
      for (size_t i = 0; i < m->aggregate()->size(); ++i) {
        Result<AggregateRunView> run = ViewAggregateRun(*m->aggregate()->Get(i), i);
        if (run.has_value()) {
          for (const auto& row : run->rows) (void)ToAggregateRow(row).sum;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sensordb::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb::protocol;
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  const size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  FrameDecoder decoder(kPreAuthMaxFrameBytes);
  bool first = true;
  for (const auto piece : {in.first(cut), in.subspan(cut)}) {
    if (!decoder.Feed(piece).ok()) break;
    while (auto frame = decoder.Next()) {
      DecodeEverything(*frame);
      // After the first frame (Hello, Auth) a session raises the limit.
      if (first) decoder.set_max_frame_bytes(kDefaultMaxFrameBytes);
      first = false;
    }
  }
  while (auto frame = decoder.Next()) DecodeEverything(*frame);
  return 0;
}
