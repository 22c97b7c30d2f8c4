#include "csv_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "value_parse.h"

namespace sensordb::cli {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status SplitCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  size_t i = 0;
  while (true) {
    std::string& f = fields->emplace_back();
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return Status::InvalidArgument("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f.push_back('"');
            ++i;
            continue;
          }
          ++i;
          break;
        }
        f.push_back(line[i]);
      }
      if (i < line.size() && line[i] != ',') {
        return Status::InvalidArgument("unexpected text after a closing quote");
      }
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      f.assign(Trim(line.substr(i, end - i)));
      i = end;
    }
    if (i >= line.size()) return Status::Ok();
    ++i;  // the comma
  }
}

bool CsvParser::LooksLikeHeader(std::string_view line) {
  const std::string first = Lower(Trim(line.substr(0, line.find(','))));
  return first == "timestamp" || first == "time" || first == "\"timestamp\"";
}

Status CsvParser::ParseHeader(std::string_view line) {
  SENSORDB_RETURN_IF_ERROR(SplitCsvLine(line, &fields_));
  std::vector<std::string> lower;
  for (const auto& f : fields_) lower.push_back(Lower(f));
  if (lower.size() < 3 || (lower[0] != "timestamp" && lower[0] != "time") || lower[1] != "device") {
    return Status::InvalidArgument(
        "CSV header must be timestamp,device,channel,value (long layout) or "
        "timestamp,device,<channel>,... (wide layout)");
  }
  wide_ = !(lower.size() == 4 && lower[2] == "channel" && lower[3] == "value");
  channels_.assign(fields_.begin() + 2, fields_.end());
  if (wide_) {
    for (const auto& c : channels_) {
      if (c.empty()) return Status::InvalidArgument("empty channel name in the CSV header");
    }
  }
  return Status::Ok();
}

Status CsvParser::ParseTimestamp(std::string_view text, int64_t* out) const {
  if (text.empty()) return Status::InvalidArgument("missing timestamp");
  int64_t v = 0;
  if (ParseInt64(text, &v)) {
    SENSORDB_ASSIGN_OR_RETURN(*out, ScaleTimestamp(v, precision_));
    return Status::Ok();
  }
  SENSORDB_ASSIGN_OR_RETURN(*out, ParseRfc3339(text));
  return Status::Ok();
}

Status CsvParser::ParseCell(std::string_view device, std::string_view channel,
                            std::string_view text, Value* out) const {
  const ValueType type = type_of_(device, channel);
  if (ParseTyped(text, type, out)) return Status::Ok();
  return Status::InvalidArgument(fmt::format("bad {} value '{}' for channel {}/{}",
                                             ValueTypeName(type), text, device, channel));
}

Status CsvParser::ParseRow(std::string_view line, const Emit& emit) {
  SENSORDB_RETURN_IF_ERROR(SplitCsvLine(line, &fields_));
  const size_t expected = channels_.size() + 2;
  if (fields_.size() != expected) {
    return Status::InvalidArgument(
        fmt::format("expected {} fields as in the header, got {}", expected, fields_.size()));
  }
  int64_t ts = 0;
  SENSORDB_RETURN_IF_ERROR(ParseTimestamp(fields_[0], &ts));
  const std::string& device = fields_[1];
  if (device.empty()) return Status::InvalidArgument("missing device");
  Value value;
  if (!wide_) {
    const std::string& channel = fields_[2];
    if (channel.empty()) return Status::InvalidArgument("missing channel");
    if (fields_[3].empty()) return Status::InvalidArgument("missing value");
    SENSORDB_RETURN_IF_ERROR(ParseCell(device, channel, fields_[3], &value));
    return emit(device, channel, ts, value);
  }
  for (size_t i = 0; i < channels_.size(); ++i) {
    const std::string& cell = fields_[i + 2];
    if (cell.empty()) continue;  // no reading of this channel at this time
    SENSORDB_RETURN_IF_ERROR(ParseCell(device, channels_[i], cell, &value));
    SENSORDB_RETURN_IF_ERROR(emit(device, channels_[i], ts, value));
  }
  return Status::Ok();
}

}  // namespace sensordb::cli
