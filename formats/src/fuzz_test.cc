// Hostile payloads: random mutations (byte flips, insertions, deletions, splices of format
// tokens, truncations) of valid line protocol and JSON payloads, and random bytes. Each must
// end in a parsed payload or an error, never a crash (this suite runs under ASan and UBSan),
// and a payload is applied whole or not at all: on error the batch is exactly as before.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sensordb/formats/json_payload.h"
#include "sensordb/formats/line_protocol.h"

namespace sensordb::formats {
namespace {

using Parser = Status (*)(std::string_view, const PayloadOptions&, WriteBatch&);

const std::vector<std::string> kLineProtocol = {
    "env,device=dev temp=21.5,hum=40i,door=t 1700000000000000000\n"
    "env temp=21.7,hum=41i,door=f 1700000000000000001\n",
    "# comment\r\nm\\ x,site=a\\,b f=1e3,g=3u\r\n\r\nm\\ x g=4u 12\n",
    "power,device=dev volts=230.1 1700000000000000000\npower amps=1.5",
};
const std::vector<std::string> kJson = {
    R"({"ts": 1700000000000000000, "temp": 21.5, "door": true})",
    R"([{"ts": "2023-11-14T22:13:20.5Z", "a": 1, "b": false}, {"ts": 2, "a": -1.5e3}])",
    R"( [ {"a":1} , {"a":2,"ts":"2024-01-01"} ] )",
};
const std::vector<std::string> kTokens = {",",
                                          " ",
                                          "=",
                                          "\\",
                                          "\"",
                                          "\n",
                                          "i",
                                          "u",
                                          "t",
                                          "device=x",
                                          "{",
                                          "}",
                                          "[",
                                          "]",
                                          ":",
                                          "\"ts\"",
                                          "1e999",
                                          "-",
                                          ".",
                                          "null",
                                          "NaN",
                                          "\xff",
                                          std::string(1, '\0'),
                                          "\"a\":"};

// A summary of everything in the batch, to compare before and after a failed parse.
std::string Fingerprint(const WriteBatch& batch) {
  std::string out = std::to_string(batch.points()) + "/" + std::to_string(batch.columns().size());
  for (const auto& c : batch.columns()) {
    out += "|" + c.device + "/" + c.channel + "/" + std::to_string(c.size());
  }
  return out;
}

std::string Mutate(std::string s, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 5) {
      case 0:
        if (!s.empty()) s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:
        s.insert(pos, 1, static_cast<char>(rng()));
        break;
      case 2:
        if (!s.empty()) s.erase(pos, 1 + rng() % 4);
        break;
      case 3:
        s.insert(pos, kTokens[rng() % kTokens.size()]);
        break;
      case 4:
        s.resize(pos);
        break;
    }
  }
  return s;
}

// Parses `payload` into a batch that already holds a point; checks all-or-nothing.
void CheckAllOrNothing(Parser parse, const std::string& payload, int* accepted, int* rejected) {
  PayloadOptions options;
  options.device = "dev";
  options.default_timestamp_ns = 5;
  options.limits.max_points = 64;
  WriteBatch batch;
  batch.Add("earlier", "c", 1, Value::Float64(1));
  const std::string before = Fingerprint(batch);
  const Status s = parse(payload, options, batch);
  if (s.ok()) {
    ++*accepted;
    ASSERT_GT(batch.points(), 1u) << payload;
    for (const auto& c : batch.columns()) {
      ASSERT_TRUE(c.device == "dev" || c.device == "earlier") << payload;
    }
  } else {
    ++*rejected;
    ASSERT_FALSE(s.message().empty()) << payload;
    ASSERT_EQ(Fingerprint(batch), before) << payload;
  }
}

void FuzzFormat(Parser parse, const std::vector<std::string>& seeds, uint32_t seed) {
  std::mt19937 rng(seed);
  int accepted = 0, rejected = 0;
  for (const std::string& valid : seeds) CheckAllOrNothing(parse, valid, &accepted, &rejected);
  ASSERT_EQ(accepted, static_cast<int>(seeds.size())) << "a seed payload failed to parse";
  for (int i = 0; i < 20'000; ++i) {
    CheckAllOrNothing(parse, Mutate(seeds[rng() % seeds.size()], rng), &accepted, &rejected);
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, static_cast<int>(seeds.size()));
}

TEST(HostilePayload, MutatedLineProtocolIsAppliedWholeOrNotAtAll) {
  FuzzFormat(&ParseLineProtocolPayload, kLineProtocol, 11);
}

TEST(HostilePayload, MutatedJsonIsAppliedWholeOrNotAtAll) {
  FuzzFormat(&ParseJsonPayload, kJson, 12);
}

TEST(HostilePayload, RandomBytesNeverCrash) {
  std::mt19937 rng(13);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 5'000; ++i) {
    std::string bytes(rng() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    CheckAllOrNothing(&ParseLineProtocolPayload, bytes, &accepted, &rejected);
    CheckAllOrNothing(&ParseJsonPayload, bytes, &accepted, &rejected);
  }
  EXPECT_GT(rejected, 9'000);
}

TEST(HostilePayload, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  WriteBatch batch;
  PayloadOptions options;
  options.device = "dev";
  EXPECT_FALSE(ParseJsonPayload(deep, options, batch).ok());
  EXPECT_TRUE(batch.empty());
}

}  // namespace
}  // namespace sensordb::formats
