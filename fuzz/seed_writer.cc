// Writes the binary seeds of the fuzz corpora (fuzz/corpus/<target>/seed-*) from the real
// encoders, so that each target starts from valid frames, packets and records; the text seeds
// (line protocol, JSON, CSV, HTTP) are written by hand. Run after a format changes:
//   build/fuzz/seed_writer fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "block/block.h"
#include "block/column_codec.h"
#include "block/group.h"
#include "catalog/catalog_records.h"
#include "crypto/cipher.h"
#include "head/head_record.h"
#include "mqtt/codec.h"
#include "ota_fixture.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/firmware_codec.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& dir, const std::string& name, uint8_t selector, std::string_view body) {
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary);
  out.put(static_cast<char>(selector));
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
}

std::string AsString(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

template <typename... Frames>
std::string Stream(const Frames&... frames) {
  std::vector<uint8_t> bytes;
  (frames.AppendTo(bytes), ...);
  return AsString(bytes);
}

void NativeFrames(const fs::path& dir) {
  using namespace protocol;
  WriteBatch batch;
  const int64_t ts[] = {1'700'000'000'000'000'000, 1'700'000'010'000'000'000};
  const double f[] = {21.5, 21.75};
  const int64_t i[] = {40, 41};
  const bool b[] = {true, false};
  batch.AddFloat64("dev-1", "temp", ts, f);
  batch.AddInt64("dev-1", "hum", ts, i);
  batch.AddBool("dev-2", "door", ts, b);
  Write(dir, "login", 7, Stream(EncodeHello(1, {1, 1, "seed"}), EncodeAuth(2, {.token = "x"})));
  Write(dir, "password", 3,
        Stream(EncodeHello(1, {1, 1, "seed"}), EncodeAuth(2, {.user = "u", .password = "p"})));
  Write(dir, "write", 0, Stream(*EncodeWrite(3, "greenhouse", batch)));
  QueryRequest q;
  q.project = "greenhouse";
  q.kind = QueryKind::kAggregate;
  Write(dir, "query", 0, Stream(EncodeQuery(4, q)));
  // With label conditions (an OR of an equality and a regex) and a group key.
  LabelFilter any{LabelFilter::Op::kOr, "", "", {}};
  any.operands.push_back({LabelFilter::Op::kEq, "site", "north", {}});
  any.operands.push_back({LabelFilter::Op::kMatch, "room", "^3", {}});
  q.selector.labels = {any};
  q.group_by = {"site"};
  Write(dir, "query-labels", 0, Stream(EncodeQuery(4, q)));
  Write(dir, "admin", 0,
        Stream(EncodeCreateProject(5, {"greenhouse", {}}),
                EncodeCreateAccount(6, {.name = "ann", .password = "correct horse"}),
                EncodeSetGrant(7, {"greenhouse", "ann", wire::Role::Writer}),
                EncodeIssueToken(8, {"ann", 0}),
                EncodeRegisterDevice(9, {"greenhouse", "dev-1", "m1", "1.0.0"}),
                EncodeListDevices(10, "greenhouse"), EncodeError(11, Status::NotFound("x"))));
  QueryChunkBuilder raw(12, QueryKind::kRaw);
  const SeriesRef series{1, "dev-1", "temp", ValueType::kFloat64};
  raw.AddRaw(series, {ValueType::kFloat64, ts, f, {}, {}}, 0);
  QueryChunkBuilder agg(13, QueryKind::kAggregate);
  AggregateRow row;
  row.series = &series;
  agg.AddAggregate(row);
  QueryChunkBuilder latest(14, QueryKind::kLatest);
  latest.AddLatest("dev-1", {"temp", 1, Value::Float64(1)});
  Write(dir, "replies", 0, Stream(raw.Finish(), agg.Finish(), latest.Finish()));
  const std::vector<uint8_t> nonce(16, 7), file(40, 9);
  Write(
      dir, "firmware", 0,
      Stream(EncodeGetFirmwareOffer(15, {"greenhouse", nonce, "DL-200", "1.0.0", 1, 1}),
             EncodeFirmwareOffer(15, {file, file, 3, 4096, {file, file}}),
             EncodeReadFirmware(16, {"greenhouse", 3, 0, 4096}), EncodeFirmwareData(16, {0, file}),
             EncodeReportFirmware(17, {"greenhouse", 3, 7, "hash-mismatch", "1.0.0", 1, 1})));
  Write(dir, "firmware-admin", 0,
        Stream(EncodeGetFreshnessKey(17, "greenhouse"),
               EncodeUploadFirmwareRoot(18, {"greenhouse", file}),
               EncodeUploadFirmware(19, {"greenhouse", file, file}),
               EncodeListFirmwareReply(
                   20, {{{3, true, "DL-200", "2.0.0", 2, 1, 40, 9, 8, nonce}},
                        {{1, 3, 4, 8, {"dev-1"}, {50, 100}, 5, 600, 1, 9, {1}, 9, {}, {}}}}),
               EncodeCreateRollout(21, {"greenhouse", 3, {"dev-1", "dev-2"}, {1, 100}, 5, 600, {}}),
               EncodeCreateRollout(21, {"greenhouse", 3, {}, {10, 100}, 5, 600, "DL-200"}),
               EncodeSetRolloutState(22, {"greenhouse", 1, 2}),
               EncodeListDeviceFirmware(23, {"greenhouse", "dev-1"}),
               EncodeDeviceFirmwareList(23, {{"dev-1", 3, 5, "", "2.0.0", 2, 1, 9}})));
}

void MqttPackets(const fs::path& dir) {
  using namespace mqtt;
  Connect connect;
  connect.client_id = "dev-1";
  connect.keep_alive_s = 60;
  connect.will = Will{"sensordb/p/dev-1/status", "gone", QoS::kAtLeastOnce, true};
  connect.username = "u";
  connect.password = "p";
  const std::vector<Packet> client = {
      connect,
      Publish{"sensordb/p/dev-1/lp", "env temp=21.5 1", QoS::kAtMostOnce, false, false, 0},
      Publish{"sensordb/p/dev-1/json", R"({"temp":21.5})", QoS::kAtLeastOnce, false, false, 7},
      PubAck{3},
      Subscribe{4, {{"a/#", QoS::kAtLeastOnce}}},
      Unsubscribe{5, {"a/#"}},
      PingReq{},
      Disconnect{}};
  const std::vector<Packet> server = {ConnAck{false, ConnectReturnCode::kAccepted}, PubAck{7},
                                      SubAck{4, {1}}, UnsubAck{5}, PingResp{}};
  for (auto [name, from, packets] : {std::tuple{"client", 0, client}, {"server", 1, server}}) {
    std::vector<uint8_t> bytes;
    bytes.push_back(5);  // where the stream is cut into two reads
    for (const Packet& p : packets) {
      if (!EncodeTo(p, bytes).ok()) std::abort();
    }
    Write(dir, name, static_cast<uint8_t>(from), AsString(bytes));
  }
}

void EngineRecords(const fs::path& dir) {
  block::PointColumn c[3];
  c[0].type = ValueType::kFloat64;
  c[1].type = ValueType::kInt64;
  c[2].type = ValueType::kBool;
  for (int64_t t = 0; t < 40; ++t) {
    const int64_t ts = 1'700'000'000'000'000'000 + t * 10'000'000'000;
    for (auto& col : c) col.ts.push_back(ts);
    c[0].f64.push_back(20.0 + 0.25 * static_cast<double>(t % 7));
    c[1].i64.push_back(1000 + t * t);
    c[2].b.push_back(t % 3 == 0);
  }
  for (uint8_t k = 0; k < 3; ++k) {
    const std::string type = k == 0 ? "f64" : k == 1 ? "i64" : "bool";
    const auto tag = static_cast<uint8_t>(k << 4);
    std::string body;
    block::AppendVectors(c[k].Run(), 16, &body);
    Write(dir, "vectors-" + type, tag | 0, body);
    for (bool zstd : {false, true}) {
      std::string data;
      block::CompressBody(body, {zstd, 3}, &data);
      Write(dir, "block-" + type + (zstd ? "-zstd" : ""), tag | 1, data);
    }
    std::string column(1, static_cast<char>(c[k].size() / 4));
    if (k == 0) block::EncodeFloat64(c[0].f64, &column);
    if (k == 1) block::EncodeInt64(c[1].i64, &column);
    if (k == 2) block::EncodeBool(c[2].b, &column);
    block::EncodeTimestamps(c[k].ts, &column);
    Write(dir, "column-" + type, tag | 2, column);
  }
  WriteBatch batch;
  batch.AddFloat64("dev-1", "temp", c[0].ts, c[0].f64);
  batch.AddInt64("dev-1", "count", c[1].ts, c[1].i64);
  const uint64_t ids[] = {17, 18};
  std::string record;
  head::EncodeHeadRecord(batch.columns(), ids, &record);
  Write(dir, "head-record", 3, record);
  // A version 2 record needs kHeadRecordZstdMinBytes of columns: the same column from many devices.
  WriteBatch fleet;
  std::vector<uint64_t> fleet_ids;
  for (int d = 0; d < 200; ++d) {
    fleet.AddFloat64("dev-" + std::to_string(d), "temp", c[0].ts, c[0].f64);
    fleet_ids.push_back(uint64_t(100 + d));
  }
  record.clear();
  head::EncodeHeadRecord(fleet.columns(), fleet_ids, &record, /*zstd_level=*/1);
  Write(dir, "head-record-zstd", 3, record);
  std::string summary;
  block::EncodeSummary(block::Summary::Of(c[0]), &summary);
  Write(dir, "summary", 4, summary);
  Write(dir, "project", 5, catalog::EncodeProject({"greenhouse", 30, 86'400'000'000'000}));
  Write(dir, "device", 5, catalog::EncodeDevice({"dev-1", "m1", "1.0.0"}));
  const catalog::ChannelEntry channels[] = {{17, ValueType::kFloat64, "temp", "degC"},
                                            {18, ValueType::kInt64, "count", ""}};
  Write(dir, "channels", 5, catalog::EncodeChannels(channels));
  Write(dir, "counters", 5, catalog::EncodeCounters({4, 99}));
  std::vector<block::GroupMember> members;
  for (uint8_t k = 0; k < 3; ++k) {
    block::GroupMember m;
    m.key = {1, uint64_t(17 + k), c[k].ts.front(), uint64_t(40 + k)};
    m.summary = block::Summary::Of(c[k]);
    block::AppendVectors(c[k].Run(), 16, &m.body);
    members.push_back(std::move(m));
  }
  const auto plain = crypto::NewPlainCipher();
  for (bool zstd : {false, true}) {
    auto group = block::EncodeGroupValue(*plain, 1, block::GroupKey(1, 7), members, {zstd, 3});
    if (group) Write(dir, zstd ? "group-zstd" : "group", 6, *group);
  }
}

// Firmware metadata signed by the fixture's keys, raw (ota_metadata_fuzz has no selector byte).
void OtaMetadata(const fs::path& dir) {
  using ota_fuzz::Bytes;
  if (sdb_ota_init() != SDB_OTA_OK) return;
  const ota_fuzz::Fixture f;
  static const uint8_t nonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const auto put = [&](const std::string& name, const Bytes& b) {
    fs::create_directories(dir);
    std::ofstream out(dir / ("seed-" + name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  put("root", f.SignedRoot());
  put("root-next", f.SignedNextRoot());
  put("manifest", f.SignedManifest());
  put("freshness", f.SignedFreshness(nonce));
}

}  // namespace
}  // namespace sensordb

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  sensordb::NativeFrames(root / "native_frame_fuzz");
  sensordb::MqttPackets(root / "mqtt_packet_fuzz");
  sensordb::EngineRecords(root / "engine_records_fuzz");
  sensordb::OtaMetadata(root / "ota_metadata_fuzz");
  return 0;
}
