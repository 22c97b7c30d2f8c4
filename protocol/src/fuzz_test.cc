// Hostile input: random bytes, truncations and bit flips of valid frames. Each must end in a
// frame or an error, never a crash (this suite runs under ASan and UBSan), and every frame that
// passes verification must also survive the message decoders.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::protocol {
namespace {

// Runs every decoder that applies to the frame; results are ignored, crashes are not.
void DecodeEverything(const Frame& frame) {
  WriteBatch batch;
  if (const auto* m = frame.As<wire::Write>()) (void)DecodeWrite(*m, {}, batch).has_value();
  if (const auto* m = frame.As<wire::Query>()) (void)DecodeQuery(*m).has_value();
  if (const auto* m = frame.As<wire::Hello>()) (void)DecodeHello(*m).has_value();
  if (const auto* m = frame.As<wire::HelloReply>()) (void)DecodeHelloReply(*m).has_value();
  if (const auto* m = frame.As<wire::Auth>()) (void)DecodeAuth(*m).has_value();
  if (const auto* m = frame.As<wire::Error>()) DecodeError(*m).IgnoreError();
  if (const auto* m = frame.As<wire::ListProjectsReply>()) {
    (void)DecodeListProjectsReply(*m).has_value();
  }
  if (const auto* m = frame.As<wire::QueryChunk>()) {
    if (m->raw()) {
      for (size_t i = 0; i < m->raw()->size(); ++i) {
        (void)ViewColumn(*m->raw()->Get(i), i).has_value();
      }
    }
    if (m->latest()) {
      for (size_t i = 0; i < m->latest()->size(); ++i) {
        (void)ViewLatest(*m->latest()->Get(i), i).has_value();
      }
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

// Feeds `bytes` as one frame's payload; returns whether it was accepted.
bool FeedPayload(const std::vector<uint8_t>& payload) {
  Result<Frame> frame = VerifyFrame(payload);
  if (!frame.has_value()) {
    EXPECT_FALSE(frame.error().message().empty());
    return false;
  }
  DecodeEverything(*frame);
  return true;
}

std::vector<std::vector<uint8_t>> ValidPayloads() {
  std::vector<OutFrame> frames;
  WriteBatch batch;
  const int64_t ts[] = {1, 2, 3};
  const double f[] = {1.5, 2.5, 3.5};
  const bool b[] = {true, false, true};
  batch.AddFloat64("dev", "temp", ts, f);
  batch.AddBool("dev", "door", ts, b);
  frames.push_back(*EncodeWrite(1, "greenhouse", batch));
  QueryRequest q;
  q.project = "greenhouse";
  q.kind = QueryKind::kAggregate;
  frames.push_back(EncodeQuery(2, q));
  frames.push_back(EncodeHello(3, {1, 1, "fuzz"}));
  frames.push_back(EncodeAuth(4, {.user = "u", .password = "p"}));
  frames.push_back(EncodeError(5, Status::NotFound("x")));
  const std::vector<ProjectInfo> projects = {{1, "a", 0}};
  frames.push_back(EncodeListProjectsReply(6, projects));
  QueryChunkBuilder raw(7, QueryKind::kRaw);
  const SeriesRef series{1, "dev", "temp", ValueType::kFloat64};
  raw.AddRaw(series, {ValueType::kFloat64, ts, f, {}, {}}, 0);
  frames.push_back(raw.Finish());
  QueryChunkBuilder agg(8, QueryKind::kAggregate);
  AggregateRow row;
  row.series = &series;
  agg.AddAggregate(row);
  frames.push_back(agg.Finish());
  QueryChunkBuilder latest(9, QueryKind::kLatest);
  latest.AddLatest("dev", {"temp", 1, Value::Float64(1)});
  frames.push_back(latest.Finish());
  std::vector<std::vector<uint8_t>> out;
  for (const OutFrame& frame : frames) {
    out.emplace_back(frame.payload().begin(), frame.payload().end());
  }
  return out;
}

TEST(HostileInput, ValidPayloadsPass) {
  for (const auto& p : ValidPayloads()) EXPECT_TRUE(FeedPayload(p));
}

TEST(HostileInput, RandomBytesAreRejected) {
  std::mt19937 rng(1);
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> bytes(rng() % 300);
    for (auto& b : bytes) b = uint8_t(rng());
    // Random bytes with the right identifier get as far as the verifier.
    if (bytes.size() >= 8 && i % 2 == 0) std::memcpy(bytes.data() + 4, "SDB1", 4);
    EXPECT_FALSE(FeedPayload(bytes));
  }
}

TEST(HostileInput, RandomStreamsEndInAnErrorNotACrash) {
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bytes(rng() % 2000);
    for (auto& b : bytes) b = uint8_t(rng());
    if (bytes.size() >= 4) bytes[0] = 0, bytes[1] = 0;  // plausible lengths
    FrameDecoder decoder(64 * 1024);
    decoder.Feed(bytes).IgnoreError();
    while (auto frame = decoder.Next()) DecodeEverything(*frame);
  }
}

TEST(HostileInput, TruncatedPayloadsAreRejectedUnlessOnlyPaddingIsCut) {
  for (const auto& payload : ValidPayloads()) {
    for (size_t n = 0; n < payload.size(); ++n) {
      std::vector<uint8_t> cut(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(n));
      if (FeedPayload(cut)) {
        // Only a cut of trailing alignment padding (zeros no offset points into) may pass.
        for (size_t k = n; k < payload.size(); ++k) {
          ASSERT_EQ(payload[k], 0) << "accepted a payload cut to " << n << " bytes";
        }
      }
    }
  }
}

TEST(HostileInput, FlippedBytesNeverCrash) {
  std::mt19937 rng(3);
  int accepted = 0, rejected = 0;
  for (const auto& payload : ValidPayloads()) {
    for (size_t pos = 0; pos < payload.size(); ++pos) {
      for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}, uint8_t(rng() | 1)}) {
        std::vector<uint8_t> bad = payload;
        bad[pos] ^= flip;
        (FeedPayload(bad) ? accepted : rejected)++;
      }
    }
  }
  // Flips in values are undetectable (there is no checksum: TLS protects the stream), flips in
  // offsets and lengths must be caught.
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);
}

TEST(HostileInput, MisalignedValueVectorIsRejected) {
  // The Verifier checks a vector's length field for 4-byte alignment only, so a peer can place
  // 8-byte elements at an offset that is 4 mod 8. Simulate it by shifting a valid Write by 4
  // bytes: every 8-byte vector is then misaligned, and ViewColumn must refuse to view it.
  WriteBatch batch;
  const int64_t ts[] = {1, 2};
  const double f[] = {1, 2};
  batch.AddFloat64("d", "c", ts, f);
  OutFrame out = *EncodeWrite(1, "p", batch);
  std::vector<uint64_t> storage(out.payload().size() / 8 + 2);
  uint8_t* shifted = reinterpret_cast<uint8_t*>(storage.data()) + 4;
  std::memcpy(shifted, out.payload().data(), out.payload().size());
  const auto* write = flatbuffers::GetRoot<wire::Envelope>(shifted)->message_as<wire::Write>();
  ASSERT_NE(write, nullptr);
  Result<ColumnView> col = ViewColumn(*write->columns()->Get(0), 0);
  ASSERT_FALSE(col.has_value());
  EXPECT_EQ(col.error().message(), "malformed frame: column 0 (d/c) vector is misaligned");
}

}  // namespace
}  // namespace sensordb::protocol
