#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "sensordb/formats/line_protocol.h"

namespace sensordb::formats {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

PayloadOptions ForDevice(std::string_view device) {
  PayloadOptions o;
  o.device = device;
  o.default_timestamp_ns = kNow;
  return o;
}

// Tags other than device are the device's labels as of the line's time (docs/LABELS.md): one
// label set per device and tag set, tags sorted by key, every line's time kept.
TEST(LineProtocolPayload, OtherTagsBecomeLabelSetsOfTheirDevice) {
  WriteBatch batch;
  PayloadOptions o;
  o.default_timestamp_ns = kNow;
  const Status s = ParseLineProtocolPayload(
      "env,site=north,device=d1,room=3 t=1 10\n"
      "env,device=d2 t=2 10\n"
      "env,device=d1,room=3,site=north t=3 20\n"
      "env,device=d1,site=south t=4 30\n"
      "env,room=3,device=d1,site=north t=5 5\n",
      o, batch);
  ASSERT_TRUE(s.ok()) << s.message();
  // A run of a device's lines with the same tags is one set; a change starts another, so the
  // sets keep the lines' order.
  const auto sets = batch.label_sets();
  ASSERT_EQ(sets.size(), 3u);
  using Tags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(sets[0].device, "d1");
  EXPECT_EQ(sets[0].labels, (Tags{{"room", "3"}, {"site", "north"}}));
  EXPECT_EQ(sets[0].timestamps, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(sets[1].labels, (Tags{{"site", "south"}}));
  EXPECT_EQ(sets[1].timestamps, (std::vector<int64_t>{30}));
  EXPECT_EQ(sets[2].labels, sets[0].labels);
  EXPECT_EQ(sets[2].timestamps, (std::vector<int64_t>{5}));
  // Reserved and repeated tags are refused with the line; nothing is appended.
  WriteBatch other;
  std::string many = "env,device=d1";
  for (size_t i = 0; i <= kMaxTagsPerLine; ++i) many += ",k" + std::to_string(i) + "=v";
  many += " t=1 1";
  for (const std::string& bad :
       {std::string("env,device=d1,time=3 t=1 1"), std::string("env,device=d1,_x=3 t=1 1"),
        std::string("env,device=d1,a=1,b=2,a=3 t=1 1"), many}) {
    const Status e = ParseLineProtocolPayload(bad, o, other);
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(e.message().starts_with("line 1: ")) << e.message();
    EXPECT_TRUE(other.empty());
  }
}

TEST(LineProtocolPayload, AppendsEveryPointOneColumnPerSeries) {
  WriteBatch batch;
  const Status s = ParseLineProtocolPayload("env temp=21.5,hum=40i 1\nenv temp=21.7,hum=41i 2\n",
                                            ForDevice("dev1"), batch);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(batch.points(), 4u);
  ASSERT_EQ(batch.columns().size(), 2u);
  const auto& temp = batch.columns()[0];
  EXPECT_EQ(temp.device, "dev1");
  EXPECT_EQ(temp.channel, "env.temp");
  EXPECT_EQ(temp.type, ValueType::kFloat64);
  EXPECT_EQ(temp.timestamps, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(temp.f64, (std::vector<double>{21.5, 21.7}));
  const auto& hum = batch.columns()[1];
  EXPECT_EQ(hum.channel, "env.hum");
  EXPECT_EQ(hum.i64, (std::vector<int64_t>{40, 41}));
}

// The stager predicts each point's series from the field order it saw last for that device;
// fields that change order, devices that interleave, and a field that appears late must still
// land in their own series, points in the order they came.
TEST(LineProtocolPayload, InterleavedDevicesAndChangingFieldOrderKeepEverySeriesApart) {
  WriteBatch batch;
  const Status s = ParseLineProtocolPayload(
      "m,device=a x=1,y=2 10\n"
      "m,device=b x=3,y=4 10\n"
      "m,device=a y=5,x=6 20\n"      // other order
      "m,device=b x=7,y=8,z=9i 20\n"  // a new field at the end
      "m,device=a x=10 30\n"          // a field missing
      "m,device=b z=11i,x=12,y=13 30\n"
      "m,device=b x=14,y=15,z=16i 40\n",
      PayloadOptions{}, batch);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(batch.points(), 16u);
  ASSERT_EQ(batch.columns().size(), 5u);
  const auto expect = [&](size_t i, std::string_view device, std::string_view channel,
                          std::vector<int64_t> ts, std::vector<double> f64) {
    const auto& c = batch.columns()[i];
    EXPECT_EQ(c.device, device) << i;
    EXPECT_EQ(c.channel, channel) << i;
    EXPECT_EQ(c.timestamps, ts) << i;
    EXPECT_EQ(c.f64, f64) << i;
  };
  expect(0, "a", "m.x", {10, 20, 30}, {1, 6, 10});
  expect(1, "a", "m.y", {10, 20}, {2, 5});
  expect(2, "b", "m.x", {10, 20, 30, 40}, {3, 7, 12, 14});
  expect(3, "b", "m.y", {10, 20, 30, 40}, {4, 8, 13, 15});
  const auto& z = batch.columns()[4];
  EXPECT_EQ(z.channel, "m.z");
  EXPECT_EQ(z.type, ValueType::kInt64);
  EXPECT_EQ(z.timestamps, (std::vector<int64_t>{20, 30, 40}));
  EXPECT_EQ(z.i64, (std::vector<int64_t>{9, 11, 16}));
}

// The stager against a plain grouping of the same lines (LineProtocolParser per line, a map
// per series): random devices, random subsets and orders of fields, many payloads.
TEST(LineProtocolPayload, StagerGroupsLikeAPlainMapOnRandomPayloads) {
  std::mt19937 rng(21);
  const std::vector<std::string> fields = {"a", "b", "c", "d", "e"};  // d and e are integers
  for (int iter = 0; iter < 300; ++iter) {
    std::string payload;
    const int devices = 1 + int(rng() % 4), lines = 1 + int(rng() % 40);
    for (int l = 0; l < lines; ++l) {
      std::vector<std::string> f = fields;
      std::shuffle(f.begin(), f.end(), rng);
      f.resize(1 + rng() % f.size());
      payload += "m,device=dev" + std::to_string(rng() % devices) + " ";
      for (size_t i = 0; i < f.size(); ++i) {
        const bool integer = f[i] == "d" || f[i] == "e";
        payload += (i ? "," : "") + f[i] + "=" + std::to_string(rng() % 1000) + (integer ? "i" : "");
      }
      payload += " " + std::to_string(l) + "\n";
    }
    // The reference: series in order of first appearance, points in line order.
    std::vector<std::pair<std::string, std::string>> order;
    std::map<std::pair<std::string, std::string>, std::pair<std::vector<int64_t>, std::vector<double>>>
        expected;
    LineProtocolParser parser(Precision::kNanoseconds, 0);
    LpLine line;
    std::istringstream in(payload);
    for (std::string text; std::getline(in, text);) {
      ASSERT_TRUE(parser.Parse(text, &line).ok()) << text;
      for (size_t i = 0; i < line.field_count; ++i) {
        const auto key = std::make_pair(line.device, line.fields[i].channel);
        auto [it, inserted] = expected.try_emplace(key);
        if (inserted) order.push_back(key);
        it->second.first.push_back(line.timestamp_ns);
        it->second.second.push_back(line.fields[i].value.AsDouble());
      }
    }
    WriteBatch batch;
    const Status s = ParseLineProtocolPayload(payload, PayloadOptions{}, batch);
    ASSERT_TRUE(s.ok()) << s.message() << "\n" << payload;
    ASSERT_EQ(batch.columns().size(), order.size()) << payload;
    for (size_t i = 0; i < order.size(); ++i) {
      const auto& c = batch.columns()[i];
      ASSERT_EQ(std::make_pair(c.device, c.channel), order[i]) << payload;
      const auto& [ts, values] = expected[order[i]];
      EXPECT_EQ(c.timestamps, ts) << payload;
      std::vector<double> got;
      for (size_t k = 0; k < c.size(); ++k) {
        got.push_back(c.type == ValueType::kInt64 ? double(c.i64[k]) : c.f64[k]);
      }
      EXPECT_EQ(got, values) << payload;
    }
  }
}

TEST(LineProtocolPayload, TypeChangeOnTheExpectedFieldIsStillRefused) {
  WriteBatch batch;
  const Status s = ParseLineProtocolPayload("m,device=a x=1,y=t 1\nm,device=a x=2,y=3 2\n",
                                            PayloadOptions{}, batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "line 2: channel 'm.y' of device 'a' is float64 here but bool at line 1 (a channel "
            "keeps one type)");
  EXPECT_TRUE(batch.empty());
}

TEST(LineProtocolPayload, DeviceTagMayBeOmittedOrEqualToTheGivenDevice) {
  WriteBatch batch;
  const Status s =
      ParseLineProtocolPayload("m f=1 1\nm,device=dev1 f=2 2", ForDevice("dev1"), batch);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(batch.columns().size(), 1u);
  EXPECT_EQ(batch.columns()[0].device, "dev1");
  EXPECT_EQ(batch.columns()[0].size(), 2u);
}

TEST(LineProtocolPayload, DeviceTagNamingAnotherDeviceIsRefusedWithItsLine) {
  WriteBatch batch;
  const Status s =
      ParseLineProtocolPayload("m f=1 1\nm,device=dev2 f=2 2\n", ForDevice("dev1"), batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message().rfind("line 2: tag 'device' names 'dev2'", 0), 0u) << s.message();
  EXPECT_TRUE(batch.empty());
}

TEST(LineProtocolPayload, WithoutAGivenDeviceEachLineNeedsItsTag) {
  PayloadOptions o;
  WriteBatch batch;
  ASSERT_TRUE(ParseLineProtocolPayload("m,device=a f=1 1\nm,device=b f=1 1", o, batch).ok());
  EXPECT_EQ(batch.columns().size(), 2u);
  WriteBatch other;
  const Status s = ParseLineProtocolPayload("m,device=a f=1 1\nm f=1 1", o, other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2: missing tag 'device'"), std::string::npos) << s.message();
}

TEST(LineProtocolPayload, NumbersLinesCountingBlankCommentAndCrlfLines) {
  WriteBatch batch;
  const Status s =
      ParseLineProtocolPayload("# header\r\n\r\nm f=1 1\r\nm f=oops 2\r\n", ForDevice("d"), batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("line 4: field 'f' has a bad value 'oops'", 0), 0u) << s.message();
}

TEST(LineProtocolPayload, BadLineLeavesTheBatchAsItWas) {
  WriteBatch batch;
  batch.Add("other", "c", 5, Value::Float64(1));
  const Status s = ParseLineProtocolPayload("m f=1 1\nm g=2 2\nm h=\"s\" 3", ForDevice("d"), batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(batch.points(), 1u);
  ASSERT_EQ(batch.columns().size(), 1u);
  EXPECT_EQ(batch.columns()[0].device, "other");
}

TEST(LineProtocolPayload, MissingTimestampTakesTheDefaultAndPrecisionScales) {
  PayloadOptions o = ForDevice("d");
  o.precision = Precision::kSeconds;
  WriteBatch batch;
  ASSERT_TRUE(ParseLineProtocolPayload("m f=1\nm f=2 1700000001", o, batch).ok());
  EXPECT_EQ(batch.columns()[0].timestamps, (std::vector<int64_t>{kNow, 1'700'000'001'000'000'000}));
}

TEST(LineProtocolPayload, RejectsAPayloadWithoutDataLines) {
  WriteBatch batch;
  for (std::string_view p : {"", "\n\n", "# only a comment\n"}) {
    const Status s = ParseLineProtocolPayload(p, ForDevice("d"), batch);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << p;
  }
}

TEST(LineProtocolPayload, RejectsAChannelGivenTwoTypes) {
  WriteBatch batch;
  const Status s = ParseLineProtocolPayload("m f=1 1\nm f=2i 2", ForDevice("d"), batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "line 2: channel 'm.f' of device 'd' is int64 here but float64 at line 1 (a channel "
            "keeps one type)");
  EXPECT_TRUE(batch.empty());
}

TEST(LineProtocolPayload, EnforcesPayloadBytesLinesAndPoints) {
  PayloadOptions o = ForDevice("d");
  o.limits.max_payload_bytes = 10;
  WriteBatch batch;
  EXPECT_EQ(ParseLineProtocolPayload("m f=1 1\nm f=2 2", o, batch).code(),
            StatusCode::kResourceExhausted);
  o = ForDevice("d");
  o.limits.max_lines = 2;
  EXPECT_TRUE(ParseLineProtocolPayload("m f=1 1\n# c\nm f=2 2", o, batch).ok());
  EXPECT_EQ(ParseLineProtocolPayload("m f=1 1\nm f=2 2\nm f=3 3", o, batch).code(),
            StatusCode::kResourceExhausted);
  o = ForDevice("d");
  o.limits.max_points = 3;
  EXPECT_TRUE(ParseLineProtocolPayload("m f=1,g=2,h=3 1", o, batch).ok());
  EXPECT_EQ(ParseLineProtocolPayload("m f=1,g=2 1\nm f=1,g=2 2", o, batch).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(batch.points(), 5u);  // the two payloads that passed
}

TEST(LineProtocolPayload, EnforcesNameBytes) {
  PayloadOptions o;
  o.limits.max_name_bytes = 8;
  WriteBatch batch;
  EXPECT_TRUE(ParseLineProtocolPayload("abc,device=12345678 de=1 1", o, batch).ok());
  Status s = ParseLineProtocolPayload("abc,device=123456789 de=1 1", o, batch);
  EXPECT_NE(s.message().find("device name of 9 bytes is longer than 8"), std::string::npos)
      << s.message();
  s = ParseLineProtocolPayload("abc,device=d defgh=1 1", o, batch);
  EXPECT_NE(s.message().find("channel name 'abc.defgh' is longer than 8 bytes"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace sensordb::formats
