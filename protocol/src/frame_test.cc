#include "sensordb/protocol/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/write_codec.h"
#include "test_util.h"

namespace sensordb::protocol {
namespace {

std::vector<uint8_t> ThreeFrames() {
  std::vector<uint8_t> bytes;
  EncodePing(1).AppendTo(bytes);
  WriteBatch batch;
  std::vector<int64_t> ts(5000);
  std::vector<double> v(5000);
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = int64_t(i) * 1000, v[i] = double(i) / 3;
  batch.AddFloat64("dev", "temp", ts, v);
  (*EncodeWrite(2, "greenhouse", batch)).AppendTo(bytes);
  EncodeError(3, Status::NotFound("no such project")).AppendTo(bytes);
  return bytes;
}

void ExpectThreeFrames(FrameDecoder& decoder) {
  std::vector<uint64_t> ids;
  while (auto frame = decoder.Next()) ids.push_back(frame->request_id());
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(decoder.at_frame_boundary());
}

TEST(OutFrame, HeaderIsBigEndianPayloadLength) {
  OutFrame frame = EncodePing(7);
  const size_t n = frame.payload().size();
  ASSERT_GT(n, 8u);
  EXPECT_EQ(frame.header()[0], uint8_t(n >> 24));
  EXPECT_EQ(frame.header()[1], uint8_t(n >> 16));
  EXPECT_EQ(frame.header()[2], uint8_t(n >> 8));
  EXPECT_EQ(frame.header()[3], uint8_t(n));
  EXPECT_EQ(frame.size(), n + 4);
  EXPECT_TRUE(wire::EnvelopeBufferHasIdentifier(frame.payload().data()));
}

TEST(FrameDecoder, DecodesFramesFedAllAtOnce) {
  FrameDecoder decoder;
  ASSERT_TRUE(decoder.Feed(ThreeFrames()).ok());
  ExpectThreeFrames(decoder);
}

TEST(FrameDecoder, DecodesFramesFedByteByByte) {
  const std::vector<uint8_t> bytes = ThreeFrames();
  FrameDecoder decoder;
  for (uint8_t b : bytes) ASSERT_TRUE(decoder.Feed({&b, 1}).ok());
  ExpectThreeFrames(decoder);
}

TEST(FrameDecoder, DecodesFramesFedInRandomChunks) {
  const std::vector<uint8_t> bytes = ThreeFrames();
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    FrameDecoder decoder;
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t n = std::min(bytes.size() - pos, size_t(rng() % 9000));
      ASSERT_TRUE(decoder.Feed({bytes.data() + pos, n}).ok());
      pos += n;
    }
    ExpectThreeFrames(decoder);
  }
}

TEST(FrameDecoder, ReportsAPartialFrame) {
  const std::vector<uint8_t> bytes = EncodePing(1).ToBytes();
  FrameDecoder decoder;
  ASSERT_TRUE(decoder.Feed({bytes.data(), 2}).ok());
  EXPECT_FALSE(decoder.at_frame_boundary());
  ASSERT_TRUE(decoder.Feed({bytes.data() + 2, bytes.size() - 3}).ok());
  EXPECT_FALSE(decoder.Next().has_value());
  ASSERT_TRUE(decoder.Feed({bytes.data() + bytes.size() - 1, 1}).ok());
  EXPECT_TRUE(decoder.Next().has_value());
}

TEST(FrameDecoder, RejectsOversizedLengthBeforeReadingThePayload) {
  FrameDecoder decoder(1 << 20);
  const uint8_t header[] = {0x00, 0x10, 0x00, 0x01};  // 1 MiB + 1
  Status s = decoder.Feed(header);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "frame of 1048577 bytes exceeds the maximum of 1048576 bytes");
  // The stream is broken for good: later bytes get the same error and no frame.
  const std::vector<uint8_t> ping = EncodePing(1).ToBytes();
  EXPECT_EQ(decoder.Feed(ping).message(), s.message());
  EXPECT_FALSE(decoder.Next().has_value());
}

TEST(FrameDecoder, RejectsAHugeLengthWithoutAllocatingIt) {
  // 4 GiB - 1 announced: with the limit raised to the maximum, the decoder must still only
  // allocate for the bytes that actually arrive (ASan would report a 4 GiB allocation).
  FrameDecoder decoder(UINT32_MAX);
  const uint8_t header[] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  EXPECT_TRUE(decoder.Feed(header).ok());
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_FALSE(decoder.at_frame_boundary());
  EXPECT_LE(decoder.reserved_bytes(), 64u * 1024);
  // Memory grows with the bytes that arrive.
  const std::vector<uint8_t> more(200'000, 0);
  EXPECT_TRUE(decoder.Feed(more).ok());
  EXPECT_GE(decoder.reserved_bytes(), 200'003u);
  EXPECT_LE(decoder.reserved_bytes(), 2u * 200'003);
}

TEST(FrameDecoder, HintsAtATextProtocol) {
  FrameDecoder decoder;
  const std::string http = "GET / HTTP/1.1\r\n";
  Status s = decoder.Feed({reinterpret_cast<const uint8_t*>(http.data()), http.size()});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("HTTP"), std::string::npos) << s.message();
}

TEST(FrameDecoder, RejectsAnEmptyPayload) {
  FrameDecoder decoder;
  const uint8_t header[] = {0, 0, 0, 0};
  Status s = decoder.Feed(header);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "malformed frame: empty payload");
}

TEST(FrameDecoder, KeepsFramesThatPrecedeABadOne) {
  std::vector<uint8_t> bytes = EncodePing(1).ToBytes();
  const uint8_t bad[] = {0, 0, 0, 8, 'n', 'o', 't', ' ', 'S', 'D', 'B', '1'};
  bytes.insert(bytes.end(), bad, bad + sizeof(bad));
  EncodePing(2).AppendTo(bytes);
  FrameDecoder decoder;
  Status s = decoder.Feed(bytes);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  std::optional<Frame> first = decoder.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->request_id(), 1u);
  EXPECT_FALSE(decoder.Next().has_value());
}

TEST(VerifyFrame, RejectsAPayloadWithoutTheIdentifier) {
  const OutFrame ping = EncodePing(1);
  std::vector<uint8_t> payload(ping.payload().begin(), ping.payload().end());
  payload[4] = 'X';
  Result<Frame> frame = VerifyFrame(std::move(payload));
  ASSERT_FALSE(frame.has_value());
  EXPECT_NE(frame.error().message().find("not a sensordb envelope"), std::string::npos);
}

TEST(VerifyFrame, RejectsAnEnvelopeWithoutAMessage) {
  flatbuffers::FlatBufferBuilder fbb;
  OutFrame out = FinishEnvelope(fbb, 5, wire::Message::NONE, 0);
  Result<Frame> frame = VerifyFrame({out.payload().begin(), out.payload().end()});
  ASSERT_FALSE(frame.has_value());
  EXPECT_EQ(frame.error().message(), "malformed frame: the envelope carries no message");
}

TEST(VerifyFrame, PassesAMessageTypeFromANewerVersion) {
  flatbuffers::FlatBufferBuilder fbb;
  auto pong = wire::CreatePong(fbb);
  OutFrame out = FinishEnvelope(fbb, 5, static_cast<wire::Message>(200), pong.Union());
  Result<Frame> frame = VerifyFrame({out.payload().begin(), out.payload().end()});
  ASSERT_TRUE(frame.has_value()) << frame.error().ToString();
  EXPECT_FALSE(IsKnownMessage(frame->type()));
  EXPECT_EQ(MessageName(frame->type()), "unknown message type 200");
  EXPECT_EQ(MessageName(wire::Message::QueryChunk), "QueryChunk");
}

TEST(VerifyFrame, RejectsAPayloadOverTheLimit) {
  OutFrame out = EncodeError(1, Status::Internal(std::string(2000, 'x')));
  Result<Frame> frame = VerifyFrame({out.payload().begin(), out.payload().end()}, 1000);
  ASSERT_FALSE(frame.has_value());
  EXPECT_EQ(frame.error().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sensordb::protocol
