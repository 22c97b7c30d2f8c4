#include "rest/influxql.h"

#include <gtest/gtest.h>

#include <variant>

namespace sensordb::server::rest::influxql {
namespace {

using Kind = ShowStatement::Kind;

ShowStatement One(std::string_view q) {
  auto all = Parse(q);
  EXPECT_TRUE(all.has_value()) << q << ": " << all.error().message();
  if (!all || all->size() != 1 || !std::holds_alternative<ShowStatement>(all->front())) return {};
  return std::get<ShowStatement>(all->front());
}

Status ErrorOf(std::string_view q) {
  auto all = Parse(q);
  EXPECT_FALSE(all.has_value()) << q;
  return all ? Status::Ok() : all.error();
}

TEST(InfluxQl, ParsesTheShowStatementsOfClientsAndDashboards) {
  EXPECT_EQ(One("SHOW DATABASES").kind, Kind::kDatabases);
  EXPECT_EQ(One("show databases").kind, Kind::kDatabases);  // keywords in any case
  EXPECT_EQ(One("SHOW MEASUREMENTS LIMIT 100").limit, 100u);
  const ShowStatement m = One("SHOW MEASUREMENTS ON \"plant\" WITH MEASUREMENT = env OFFSET 2");
  EXPECT_EQ(m.on, "plant");
  EXPECT_EQ(m.measurement, "env");
  EXPECT_EQ(m.offset, 2u);
  const ShowStatement f = One("SHOW FIELD KEYS FROM \"plant\".\"autogen\".\"env\"");
  EXPECT_EQ(f.kind, Kind::kFieldKeys);
  EXPECT_EQ(f.from, "env");
  EXPECT_EQ(One("SHOW TAG KEYS FROM env").kind, Kind::kTagKeys);
  const ShowStatement v = One("SHOW TAG VALUES FROM \"env\" WITH KEY = \"device\"");
  EXPECT_EQ(v.kind, Kind::kTagValues);
  EXPECT_EQ(v.tag_keys, std::vector<std::string>{"device"});
  EXPECT_EQ(One("SHOW TAG VALUES WITH KEY IN (device, 'site')").tag_keys,
            (std::vector<std::string>{"device", "site"}));
  EXPECT_EQ(One("SHOW SERIES FROM env LIMIT 5 OFFSET 1").offset, 1u);
  EXPECT_EQ(One("SHOW RETENTION POLICIES ON plant").kind, Kind::kRetentionPolicies);
}

TEST(InfluxQl, SplitsStatementsAndSkipsComments) {
  auto all = Parse("SHOW DATABASES; -- a comment\n;/* block; */ SHOW MEASUREMENTS ON \"a;b\";");
  ASSERT_TRUE(all.has_value()) << all.error().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(std::get<ShowStatement>((*all)[1]).on, "a;b");
  auto quoted = Parse(R"(SHOW FIELD KEYS FROM "a \"quoted\" name")");
  ASSERT_TRUE(quoted.has_value()) << quoted.error().message();
  EXPECT_EQ(std::get<ShowStatement>(quoted->front()).from, "a \"quoted\" name");
}

TEST(InfluxQl, ErrorsSayWhatWasFoundAndWhere) {
  Status s = ErrorOf("SHOW DATABASE");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("found DATABASE, expected DATABASES"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("line 1, char 6"), std::string::npos) << s.message();
  s = ErrorOf("SHOW MEASUREMENTS\nLIMIT x");
  EXPECT_NE(s.message().find("found x, expected integer at line 2, char 7"), std::string::npos)
      << s.message();
  EXPECT_NE(ErrorOf("SHOW TAG VALUES FROM env").message().find("expected WITH"), std::string::npos);
  EXPECT_NE(ErrorOf("SHOW DATABASES SHOW DATABASES").message().find("expected ;"),
            std::string::npos);
  EXPECT_NE(ErrorOf("").message().find("empty query"), std::string::npos);
  EXPECT_NE(ErrorOf("SHOW FIELD KEYS FROM \"open").message().find("unterminated"),
            std::string::npos);
  EXPECT_NE(ErrorOf("bogus").message().find("found bogus, expected SELECT"), std::string::npos);
}

TEST(InfluxQl, NamesWhatItDoesNotAnswer) {
  for (const char* q :
       {"SELECT mode(t) FROM env", "SELECT a FROM env WHERE site > 'x'",
        "SELECT a FROM env WHERE time > 0 OR site = 'x'", "SELECT a FROM env GROUP BY /s/",
        "SELECT a FROM env OFFSET 2", "SELECT a FROM env WHERE a > 1 OR a < 0",
        "SELECT a * 2 FROM env", "SELECT a FROM env tz('Europe/Paris')", "SELECT a FROM env, other",
        "EXPLAIN SELECT a FROM env", "DROP DATABASE plant", "CREATE DATABASE x", "SHOW USERS",
        "SHOW SERIES CARDINALITY", "SHOW TAG KEYS WHERE a = 'b'", "SHOW SERIES FROM /e/",
        "SHOW TAG VALUES WITH KEY != 'd'"}) {
    const Status s = ErrorOf(q);
    EXPECT_EQ(s.code(), StatusCode::kNotSupported) << q << ": " << s.message();
    EXPECT_NE(s.message().find("not supported"), std::string::npos) << q << ": " << s.message();
  }
}

SelectStatement Select(std::string_view q, int64_t now = 0) {
  auto all = Parse(q, now);
  EXPECT_TRUE(all.has_value()) << q << ": " << all.error().message();
  if (!all || all->size() != 1 || !std::holds_alternative<SelectStatement>(all->front())) return {};
  return std::get<SelectStatement>(all->front());
}

TEST(InfluxQl, ParsesTheSelectsOfDashboards) {
  // Grafana's default query, its $timeFilter expanded in milliseconds.
  SelectStatement s = Select(
      "SELECT mean(\"temp\") AS \"t\", max(temp) FROM \"env\" WHERE time >= 1700000000000ms "
      "and time <= 1700003600000ms GROUP BY time(10s), \"device\" fill(null)");
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_EQ(s.fields[0].function, "mean");
  EXPECT_EQ(s.fields[0].field, "temp");
  EXPECT_EQ(s.fields[0].alias, "t");
  EXPECT_EQ(s.measurement, "env");
  EXPECT_EQ(s.start_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(s.end_ns, 1'700'003'600'000'000'001);  // <= is inclusive: the range is half-open
  EXPECT_EQ(s.interval_ns, 10'000'000'000);
  EXPECT_TRUE(s.group_by_device);
  EXPECT_EQ(s.fill, SelectStatement::Fill::kNull);
  // now() arithmetic, RFC 3339, device, ORDER BY, LIMIT, SLIMIT, fill(<n>), parentheses.
  s = Select(
      "select spread(a) from env where (time > now() - 1h and device = 'd1') and "
      "time < '2024-01-01T00:00:00Z' group by time(1m) fill(-1.5) order by time desc "
      "limit 10 slimit 2",
      10'000'000'000'000);
  EXPECT_EQ(s.start_ns, 10'000'000'000'000 - 3'600'000'000'000 + 1);
  EXPECT_EQ(s.end_ns, 1'704'067'200'000'000'000);
  EXPECT_EQ(s.device, "d1");
  EXPECT_EQ(s.fill, SelectStatement::Fill::kValue);
  EXPECT_EQ(s.fill_value, -1.5);
  EXPECT_TRUE(s.descending);
  EXPECT_EQ(s.limit, 10u);
  EXPECT_EQ(s.slimit, 2u);
  // Raw fields; time in the list is implied.
  s = Select("SELECT time, a, \"b c\" FROM env WHERE time = 5");
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_FALSE(s.Aggregates());
  EXPECT_EQ(s.fields[1].field, "b c");
  EXPECT_EQ(s.start_ns, 5);
  EXPECT_EQ(s.end_ns, 6);
  EXPECT_EQ(Select("SELECT * FROM env").fields.front().field, "*");
}

TEST(InfluxQl, ParsesGroupByTimeOffsets) {
  EXPECT_EQ(Select("SELECT mean(t) FROM env WHERE time > 0 GROUP BY time(1h, 15m)").offset_ns,
            15 * 60'000'000'000LL);
  EXPECT_EQ(Select("SELECT mean(t) FROM env WHERE time > 0 GROUP BY time(1h, -15m)").offset_ns,
            45 * 60'000'000'000LL);
  EXPECT_EQ(Select("SELECT mean(t) FROM env WHERE time > 0 GROUP BY time(1h, 2h)").offset_ns, 0);
}

TEST(InfluxQl, ParsesMedianAndPercentile) {
  SelectStatement s = Select("SELECT median(t), percentile(\"t\", 99.5) AS p FROM env");
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_EQ(s.fields[0].function, "median");
  EXPECT_EQ(s.fields[1].function, "percentile");
  EXPECT_EQ(s.fields[1].percentile, 99.5);
  EXPECT_EQ(s.fields[1].alias, "p");
  EXPECT_EQ(ErrorOf("SELECT percentile(t) FROM env").code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ErrorOf("SELECT percentile(t, 101) FROM env").message().find("0 to 100"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("SELECT median(t, 2) FROM env").code(), StatusCode::kNotSupported);
}

TEST(InfluxQl, ParsesTagConditionsAndGroups) {
  using Op = LabelFilter::Op;
  // Grafana's shape with a multi-value template variable, a regex with an escaped slash, OR
  // in parentheses, and tags to group by.
  SelectStatement s = Select(
      "SELECT mean(\"t\") FROM \"env\" WHERE (\"site\" =~ /^(north|south)$/) AND time >= "
      "1700000000000ms and time <= 1700003600000ms AND (room = '3' OR room <> '4' and "
      "path !~ /a\\/b/) AND device != 'd2' AND device = 'd1' GROUP BY time(1m), \"site\", room, "
      "site fill(null)");
  EXPECT_EQ(s.start_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(s.device, "d1");
  ASSERT_EQ(s.tags.size(), 3u);
  EXPECT_EQ(s.tags[0].op, Op::kMatch);
  EXPECT_EQ(s.tags[0].key, "site");
  EXPECT_EQ(s.tags[0].value, "^(north|south)$");
  ASSERT_EQ(s.tags[1].op, Op::kOr);
  ASSERT_EQ(s.tags[1].operands.size(), 2u);
  EXPECT_EQ(s.tags[1].operands[0].op, Op::kEq);
  ASSERT_EQ(s.tags[1].operands[1].op, Op::kAnd);
  EXPECT_EQ(s.tags[1].operands[1].operands[0].op, Op::kNe);
  EXPECT_EQ(s.tags[1].operands[1].operands[1].value, "a/b");
  EXPECT_EQ(s.tags[2].op, Op::kNe);
  EXPECT_EQ(s.tags[2].key, "device");
  EXPECT_EQ(s.group_by, (std::vector<std::string>{"site", "room"}));
  EXPECT_FALSE(s.group_by_device);
  s = Select("SELECT mean(t) FROM env WHERE time > 0 GROUP BY *");
  EXPECT_TRUE(s.group_by_device);
  EXPECT_TRUE(s.group_by_all);
  EXPECT_EQ(ErrorOf("SELECT a FROM env WHERE site =~ /x").message(),
            "error parsing query: found unterminated regex, expected regex at line 1, char 33");
  EXPECT_EQ(ErrorOf("SELECT a FROM env WHERE site = /x/").code(), StatusCode::kInvalidArgument);
}

TEST(InfluxQl, RefusesSelectsThatMakeNoSense) {
  EXPECT_NE(ErrorOf("SELECT mean(a), b FROM env").message().find("mixing aggregate"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT a FROM env GROUP BY time(1m)").message().find("aggregate function"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT mean(a) FROM env GROUP BY time(1m)").message().find("lower limit"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("SELECT mean(a) FROM env WHERE time > 'yesterday'").message().find("invalid time"),
      std::string::npos);
  std::string deep =
      "SELECT a FROM env WHERE " + std::string(9, '(') + "time > 0" + std::string(9, ')');
  EXPECT_EQ(ErrorOf(deep).code(), StatusCode::kNotSupported);
}

TEST(InfluxQl, BoundsTheQuery) {
  EXPECT_NE(ErrorOf(std::string(kMaxQueryBytes + 1, ' ')).message().find("exceeds"),
            std::string::npos);
  std::string many;
  for (size_t i = 0; i <= kMaxStatements; ++i) many += "SHOW DATABASES;";
  EXPECT_NE(ErrorOf(many).message().find("at most"), std::string::npos);
}

}  // namespace
}  // namespace sensordb::server::rest::influxql
