// Hostile input: random bytes, bit flips, truncations and random chunkings of valid packet
// streams, in both directions. Each must end in packets or an error, never a crash or a read
// past the buffer (this suite runs under ASan and UBSan). Seeds are fixed, iterations bounded.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "mqtt/packet_decoder.h"
#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

using Bytes = std::vector<uint8_t>;

struct Stream {
  Sender from;
  std::vector<Packet> packets;
  Bytes bytes;
};

std::vector<Stream> ValidStreams() {
  Connect connect;
  connect.client_id = "dev-1";
  connect.keep_alive_s = 60;
  connect.will = Will{"sensordb/p/dev-1/status", "gone", QoS::kAtLeastOnce, true};
  connect.username = "u";
  connect.password = "p";
  std::vector<Stream> streams = {
      {Sender::kClient,
       {connect,
        Publish{"sensordb/p/dev-1/lp", "env temp=21.5 1", QoS::kAtMostOnce, false, false, 0},
        Publish{"sensordb/p/dev-1/json", R"({"a":1})", QoS::kAtLeastOnce, true, false, 77},
        PubAck{3}, Subscribe{4, {{"a/#", QoS::kAtLeastOnce}, {"+", QoS::kAtMostOnce}}},
        Unsubscribe{5, {"a/#"}}, PingReq{}, Disconnect{}},
       {}},
      {Sender::kServer,
       {ConnAck{true, ConnectReturnCode::kAccepted}, PubAck{77}, SubAck{4, {1, 0x80}}, UnsubAck{5},
        PingResp{}, Publish{"x", std::string(300, 'y'), QoS::kExactlyOnce, false, true, 9}},
       {}},
  };
  for (Stream& s : streams) {
    for (const Packet& p : s.packets) EXPECT_TRUE(EncodeTo(p, s.bytes).ok());
  }
  return streams;
}

// Feeds `bytes` in chunks of random sizes; returns the packets and the final status.
std::pair<std::vector<Packet>, Status> FeedInChunks(Sender from, const Bytes& bytes,
                                                    std::mt19937& rng,
                                                    const DecodeLimits& limits = {}) {
  PacketDecoder decoder(from, limits);
  std::vector<Packet> got;
  size_t pos = 0;
  Status status;
  while (pos < bytes.size() && status.ok()) {
    const size_t n = std::min<size_t>(1 + rng() % 64, bytes.size() - pos);
    status = decoder.Feed(std::span(bytes).subspan(pos, n));
    pos += n;
    while (auto p = decoder.Next()) got.push_back(std::move(*p));
  }
  if (!status.ok()) {
    EXPECT_FALSE(status.message().empty());
  }
  return {std::move(got), status};
}

TEST(MqttHostileInput, RandomChunkingsOfValidStreamsDecodeTheSame) {
  std::mt19937 rng(21);
  for (const Stream& s : ValidStreams()) {
    for (int i = 0; i < 200; ++i) {
      auto [got, status] = FeedInChunks(s.from, s.bytes, rng);
      ASSERT_TRUE(status.ok()) << status.message();
      ASSERT_EQ(got, s.packets);
    }
  }
}

TEST(MqttHostileInput, TruncatedStreamsYieldOnlyTheCompletePackets) {
  std::mt19937 rng(22);
  for (const Stream& s : ValidStreams()) {
    for (size_t n = 0; n < s.bytes.size(); ++n) {
      const Bytes cut(s.bytes.begin(), s.bytes.begin() + static_cast<ptrdiff_t>(n));
      auto [got, status] = FeedInChunks(s.from, cut, rng);
      ASSERT_TRUE(status.ok()) << "a cut stream waits for more bytes: " << status.message();
      ASSERT_LE(got.size(), s.packets.size());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], s.packets[i]);
    }
  }
}

TEST(MqttHostileInput, FlippedBitsNeverCrash) {
  std::mt19937 rng(23);
  int failed = 0, passed = 0;
  for (const Stream& s : ValidStreams()) {
    for (size_t pos = 0; pos < s.bytes.size(); ++pos) {
      for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x10}, uint8_t{0x80}, uint8_t(rng() | 1)}) {
        Bytes bad = s.bytes;
        bad[pos] ^= flip;
        (FeedInChunks(s.from, bad, rng).second.ok() ? passed : failed)++;
      }
    }
  }
  // Flips in payloads are undetectable; flips in headers, lengths and flags must be caught.
  EXPECT_GT(failed, 0);
  EXPECT_GT(passed, 0);
}

TEST(MqttHostileInput, RandomBytesEndInPacketsOrAnError) {
  std::mt19937 rng(24);
  DecodeLimits limits;
  limits.max_packet_bytes = 4096;
  for (int i = 0; i < 20'000; ++i) {
    Bytes bytes(rng() % 300);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    // Plausible first bytes reach the packet decoders more often.
    if (!bytes.empty() && i % 2 == 0) bytes[0] = static_cast<uint8_t>((1 + rng() % 14) << 4);
    if (bytes.size() > 1 && i % 4 == 0) bytes[1] = static_cast<uint8_t>(bytes.size() - 2);
    FeedInChunks(i % 3 == 0 ? Sender::kServer : Sender::kClient, bytes, rng, limits);
  }
}

TEST(MqttHostileInput, RandomBodiesOfEveryTypeNeverCrash) {
  std::mt19937 rng(25);
  for (int type = 0; type < 16; ++type) {
    for (int flags = 0; flags < 16; ++flags) {
      for (int i = 0; i < 100; ++i) {
        Bytes body(rng() % 40);
        for (auto& b : body) b = static_cast<uint8_t>(rng() % 4 == 0 ? 0 : rng());
        const auto first = static_cast<uint8_t>(type << 4 | flags);
        for (Sender from : {Sender::kClient, Sender::kServer}) {
          Result<Packet> p = DecodePacket(first, body, from);
          if (p.has_value()) {
            // What decodes encodes back to the same bytes, but for the CONNECT of a foreign
            // protocol, decoded only in part.
            const Connect* c = std::get_if<Connect>(&*p);
            if (c && ConnectRefusal(*c) == ConnectReturnCode::kUnacceptableProtocolVersion) {
              continue;
            }
            Bytes expected = {first};
            wire::AppendRemainingLength(static_cast<uint32_t>(body.size()), expected);
            expected.insert(expected.end(), body.begin(), body.end());
            Result<Bytes> again = Encode(*p);
            ASSERT_TRUE(again.has_value()) << again.error().message();
            ASSERT_EQ(*again, expected);
          } else {
            ASSERT_FALSE(p.error().message().empty());
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sensordb::mqtt
