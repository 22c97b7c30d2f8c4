#include "output.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

namespace sensordb::cli {
namespace {

std::string Render(OutputFormat format, const std::vector<std::vector<Cell>>& rows) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  auto w = RowWriter::Make(format, f, {"device", "value"});
  for (const auto& r : rows) w->Row(r);
  EXPECT_TRUE(w->Finish().ok());
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(FormatDouble, IsShortestRoundTripWithSpecialValues) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(21.5), "21.5");
  EXPECT_EQ(FormatDouble(1.0), "1");
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatDouble(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(RowWriter, CsvQuotesSpecialCharacters) {
  EXPECT_EQ(Render(OutputFormat::kCsv, {{Cell::Text("a,\"b\""), Cell::Float(1.5)}}),
            "device,value\n\"a,\"\"b\"\"\",1.5\n");
}

TEST(RowWriter, JsonWritesTypedValuesAndSpecialFloatsAsStrings) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Render(OutputFormat::kJson, {{Cell::Text("d\"1\n"), Cell::Int(-3)},
                                         {Cell::Text("d2"), Cell::Bool(true)},
                                         {Cell::Text("d3"), Cell::Float(nan)}}),
            "[\n  {\"device\": \"d\\\"1\\u000a\", \"value\": -3},\n"
            "  {\"device\": \"d2\", \"value\": true},\n"
            "  {\"device\": \"d3\", \"value\": \"NaN\"}\n]\n");
  EXPECT_EQ(Render(OutputFormat::kJson, {}), "[]\n");
}

TEST(RowWriter, TableAlignsColumns) {
  EXPECT_EQ(Render(OutputFormat::kTable,
                   {{Cell::Text("dev1"), Cell::Float(1.5)}, {Cell::Text("d"), Cell::Int(100)}}),
            "device  value\n------  -----\ndev1      1.5\nd         100\n");
}

}  // namespace
}  // namespace sensordb::cli
