// Escaping follows InfluxDB: in the measurement a backslash escapes a comma or space; in tag
// keys, tag values and field keys it also escapes `=`; `\\` is one backslash; any other
// backslash is kept as is. A value starting with `"` is a string field, rejected at once: the
// engine stores only numbers and booleans.
#include "sensordb/formats/line_protocol.h"

#include <fmt/format.h>

#include <algorithm>

#include "point_stager.h"

namespace sensordb::formats {
namespace {

constexpr std::string_view kShape = "expected measurement,device=NAME field=value [timestamp]";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

void SkipSpaces(std::string_view* rest) {
  while (!rest->empty() && IsSpace(rest->front())) rest->remove_prefix(1);
}

}  // namespace

bool LineProtocolParser::IsSkippable(std::string_view line) {
  while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
  return line.empty() || line.front() == '#';
}

Status LineProtocolParser::ParseKey(std::string_view* rest, bool stop_at_equals,
                                    std::string* out) {
  // Compared per character: a find() in a string of stops costs a memchr call per character.
  const auto stops = [stop_at_equals](char c) {
    return c == ',' || c == ' ' || (stop_at_equals && c == '=');
  };
  // Most keys have no backslash: find the end first and copy once.
  size_t i = 0;
  while (i < rest->size() && (*rest)[i] != '\\' && !stops((*rest)[i])) ++i;
  out->assign(rest->data(), i);
  for (; i < rest->size(); ++i) {
    const char c = (*rest)[i];
    if (c == '\\' && i + 1 < rest->size()) {
      const char next = (*rest)[i + 1];
      if (next == ',' || next == ' ' || next == '=' || next == '\\') {
        out->push_back(next);
        ++i;
        continue;
      }
    }
    if (stops(c)) break;
    out->push_back(c);
  }
  rest->remove_prefix(i);
  return Status::Ok();
}

Status LineProtocolParser::ParseTags(std::string_view* rest, LpLine* out) {
  bool have_device = false;
  out->tag_count = 0;
  while (!rest->empty() && rest->front() == ',') {
    rest->remove_prefix(1);
    SENSORDB_RETURN_IF_ERROR(ParseKey(rest, true, &key_));
    if (key_.empty()) return Status::InvalidArgument(fmt::format("empty tag key ({})", kShape));
    if (rest->empty() || rest->front() != '=') {
      return Status::InvalidArgument(
          fmt::format("tag '{}' has no value (expected key=value)", key_));
    }
    rest->remove_prefix(1);
    SENSORDB_RETURN_IF_ERROR(ParseKey(rest, false, &tag_value_));
    if (tag_value_.empty()) {
      return Status::InvalidArgument(fmt::format("tag '{}' has an empty value", key_));
    }
    if (key_ == "device") {
      if (have_device) return Status::InvalidArgument("tag 'device' is given twice");
      have_device = true;
      if (!options_.device.empty() && tag_value_ != options_.device) {
        return Status::PermissionDenied(
            fmt::format("tag 'device' names '{}', but this payload is for device '{}' (omit the "
                        "tag or name that device)",
                        tag_value_, options_.device));
      }
      if (tag_value_.size() > options_.max_name_bytes) {
        return Status::InvalidArgument(fmt::format("device name of {} bytes is longer than {}",
                                                   tag_value_.size(), options_.max_name_bytes));
      }
      out->device = tag_value_;
    } else {
      if (key_ == "time" || key_.starts_with('_')) {
        return Status::InvalidArgument(fmt::format(
            "tag '{}' is reserved (time and keys starting with _ cannot be labels)", key_));
      }
      if (out->tag_count == kMaxTagsPerLine) {
        return Status::InvalidArgument(
            fmt::format("more than {} tags on one line", kMaxTagsPerLine));
      }
      // Kept sorted by key (at most kMaxTagsPerLine): insertion into place.
      if (out->tag_count == out->tags.size()) out->tags.emplace_back();
      size_t i = out->tag_count++;
      for (; i > 0 && out->tags[i - 1].first >= key_; --i) {
        if (out->tags[i - 1].first == key_) {
          return Status::InvalidArgument(fmt::format("tag '{}' is given twice", key_));
        }
        std::swap(out->tags[i], out->tags[i - 1]);
      }
      out->tags[i].first.assign(key_);
      out->tags[i].second.assign(tag_value_);
    }
  }
  if (!have_device) {
    if (options_.device.empty()) {
      return Status::InvalidArgument(
          fmt::format("missing tag 'device' (each line needs device=NAME; {})", kShape));
    }
    out->device = options_.device;
  }
  return Status::Ok();
}

Status LineProtocolParser::ParseValue(std::string_view text, std::string_view field, Value* out) {
  if (text.empty()) {
    return Status::InvalidArgument(fmt::format("field '{}' has no value", field));
  }
  const char last = text.back();
  if (last == 'i' || last == 'u') {
    int64_t v = 0;
    if (ParseInt64(text.substr(0, text.size() - 1), &v) && (last == 'i' || v >= 0)) {
      *out = Value::Int64(v);
      return Status::Ok();
    }
  } else if (const char c = text.front(); (c == 't' || c == 'T' || c == 'f' || c == 'F') &&
                                           ParseBool(text, out)) {
    return Status::Ok();
  } else {
    double v = 0;
    if (ParseFloat64(text, &v)) {
      *out = Value::Float64(v);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument(fmt::format(
      "field '{}' has a bad value '{}' (expected a float like 1.5, an integer like 3i, or a "
      "boolean true/false)",
      field, text));
}

Status LineProtocolParser::ParseFields(std::string_view* rest, LpLine* out) {
  out->field_count = 0;
  do {
    SENSORDB_RETURN_IF_ERROR(ParseKey(rest, true, &key_));
    if (key_.empty()) return Status::InvalidArgument(fmt::format("empty field key ({})", kShape));
    if (rest->empty() || rest->front() != '=') {
      return Status::InvalidArgument(fmt::format("field '{}' has no value ({})", key_, kShape));
    }
    rest->remove_prefix(1);
    if (!rest->empty() && rest->front() == '"') {
      return Status::InvalidArgument(fmt::format(
          "field '{}' is a string; sensordb stores only float, integer (3i) and boolean values",
          key_));
    }
    if (measurement_.size() + 1 + key_.size() > options_.max_name_bytes) {
      return Status::InvalidArgument(fmt::format("channel name '{}.{}' is longer than {} bytes",
                                                 measurement_.substr(0, 32), key_.substr(0, 32),
                                                 options_.max_name_bytes));
    }
    // The value ends at the next ',', ' ' or '\t': one pass over the value only (a
    // find_first_of per field rescanned every later field: O(fields^2) per line).
    size_t end = 0;
    while (end < rest->size() && (*rest)[end] != ',' && (*rest)[end] != ' ' && (*rest)[end] != '\t') {
      ++end;
    }
    const std::string_view text = rest->substr(0, end);
    rest->remove_prefix(text.size());
    if (out->field_count == out->fields.size()) out->fields.emplace_back();
    LpField& f = out->fields[out->field_count++];
    SENSORDB_RETURN_IF_ERROR(ParseValue(text, key_, &f.value));
    f.channel.assign(measurement_).append(".").append(key_);
  } while (!rest->empty() && rest->front() == ',' && (rest->remove_prefix(1), true));
  return Status::Ok();
}

Status LineProtocolParser::ParseTimestamp(std::string_view text, int64_t* out) {
  int64_t v = 0;
  if (!ParseInt64(text, &v)) {
    return Status::InvalidArgument(
        fmt::format("bad timestamp '{}' (expected an integer in the unit of the precision)", text));
  }
  SENSORDB_ASSIGN_OR_RETURN(*out, ScaleTimestamp(v, options_.precision));
  return Status::Ok();
}

Status LineProtocolParser::Parse(std::string_view line, LpLine* out) {
  std::string_view rest = line;
  SkipSpaces(&rest);  // InfluxDB's parser skips it, and the `influx` CLI's INSERT sends one
  SENSORDB_RETURN_IF_ERROR(ParseKey(&rest, false, &measurement_));
  if (measurement_.empty()) {
    return Status::InvalidArgument(fmt::format("missing measurement ({})", kShape));
  }
  SENSORDB_RETURN_IF_ERROR(ParseTags(&rest, out));
  if (rest.empty() || !IsSpace(rest.front())) {
    return Status::InvalidArgument(fmt::format("missing fields ({})", kShape));
  }
  SkipSpaces(&rest);
  if (rest.empty()) return Status::InvalidArgument(fmt::format("missing fields ({})", kShape));
  SENSORDB_RETURN_IF_ERROR(ParseFields(&rest, out));
  SkipSpaces(&rest);
  while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) {
    out->timestamp_ns = options_.default_timestamp_ns;
    return Status::Ok();
  }
  return ParseTimestamp(rest, &out->timestamp_ns);
}

Status ParseLineProtocolPayload(std::string_view payload, const PayloadOptions& options,
                                WriteBatch& batch) {
  const PayloadLimits& limits = options.limits;
  if (payload.size() > limits.max_payload_bytes) {
    return Status::ResourceExhausted(fmt::format("payload of {} bytes exceeds the limit of {}",
                                                 payload.size(), limits.max_payload_bytes));
  }
  LineProtocolParser parser(LineProtocolOptions{options.precision, options.default_timestamp_ns,
                                                std::string(options.device),
                                                limits.max_name_bytes});
  PointStager stager(limits.max_points);
  LpLine line;
  std::string where;
  size_t line_number = 0;
  size_t data_lines = 0;
  while (!payload.empty()) {
    const size_t eol = payload.find('\n');
    std::string_view text = payload.substr(0, eol);
    payload.remove_prefix(eol == std::string_view::npos ? payload.size() : eol + 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++line_number;
    if (LineProtocolParser::IsSkippable(text)) continue;
    if (++data_lines > limits.max_lines) {
      return Status::ResourceExhausted(fmt::format(
          "the payload has more than {} lines (send it in smaller parts)", limits.max_lines));
    }
    where = fmt::format("line {}", line_number);
    const auto located = [&where](const Status& s) {
      return Status(s.code(), fmt::format("{}: {}", where, s.message()));
    };
    if (Status s = parser.Parse(text, &line); !s.ok()) return located(s);
    for (size_t i = 0; i < line.field_count; ++i) {
      const LpField& f = line.fields[i];
      if (Status s = stager.Add(line.device, f.channel, line.timestamp_ns, f.value, where);
          !s.ok()) {
        return located(s);
      }
    }
    if (line.tag_count > 0) {
      stager.AddLabels(line.device, line.timestamp_ns, std::span(line.tags.data(), line.tag_count));
    }
  }
  if (data_lines == 0) {
    return Status::InvalidArgument("the payload has no line protocol lines");
  }
  stager.AppendTo(batch);
  return Status::Ok();
}

}  // namespace sensordb::formats
