// `sensordb import` CSV files, as the importer reads them: line by line, the first line a
// header when it looks like one (long or wide layout), every later line a row. The first byte
// picks the precision and the value type of each channel.
#include <cstdint>
#include <string>
#include <string_view>

#include "csv_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const cli::CsvParser::TypeOf type_of = [selector](std::string_view, std::string_view channel) {
    const size_t pick = (channel.size() + selector) % 3;
    return pick == 0 ? ValueType::kFloat64 : pick == 1 ? ValueType::kInt64 : ValueType::kBool;
  };
  cli::CsvParser parser(static_cast<formats::Precision>(selector & 3), type_of);
  const cli::CsvParser::Emit emit = [](std::string_view, std::string_view, int64_t,
                                       const Value&) { return Status::Ok(); };
  bool first = true;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (first) {
      first = false;
      if (cli::CsvParser::LooksLikeHeader(line)) {
        if (!parser.ParseHeader(line).ok()) return 0;
        continue;
      }
      if (!parser.ParseHeader("timestamp,device,channel,value").ok()) return 0;
    }
    (void)parser.ParseRow(line, emit).ok();
  }
  return 0;
}
