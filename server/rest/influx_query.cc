// InfluxQL on /query (docs/INFLUXQL.md): runs the statements that server/rest/influxql parses
// — SHOW on the catalog, SELECT on the engine's aggregates and raw reads — and answers them as
// InfluxDB 1.x does, in JSON or CSV. Part of RestHandler (rest_handler.h).
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rest/influxql.h"
#include "rest/json_text.h"
#include "rest/rest_handler.h"
#include "rest/rest_util.h"
#include "sensordb/formats/text_values.h"

namespace sensordb::server::rest {

namespace json = boost::json;

namespace {

// A channel as InfluxQL sees it: line protocol's `measurement.field`, split at the first dot;
// a channel without a dot is a measurement of its own with the one field "value".
std::pair<std::string_view, std::string_view> MeasurementAndField(std::string_view channel) {
  const size_t dot = channel.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == channel.size()) {
    return {channel, "value"};
  }
  return {channel.substr(0, dot), channel.substr(dot + 1)};
}

std::string_view InfluxFieldType(ValueType t) {
  switch (t) {
    case ValueType::kFloat64:
      return "float";
    case ValueType::kInt64:
      return "integer";
    case ValueType::kBool:
      return "boolean";
  }
  return "float";
}

// One series of an InfluxDB 1.x result: {"name":..,"columns":[..],"values":[[..],..]}.
struct InfluxSeries {
  std::string name;  // empty: none (SHOW SERIES, SHOW RETENTION POLICIES)
  std::vector<std::string> columns;
  json::array values;
  json::object tags;  // GROUP BY device: {"device": name}
};

// A measurement, tag key or tag value in a series key as line protocol escapes it: commas and
// spaces (and in tags, equals signs) behind a backslash.
std::string SeriesKeyPart(std::string_view text, bool tag) {
  std::string out;
  for (char c : text) {
    if (c == ',' || c == ' ' || (tag && c == '=')) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// SHOW's `=~ /re/` and `!~ /re/` (RE2, linear time; as long and as costly as a WHERE pattern
// may be, query/label_plan.h): a name is kept when matching agrees with `keep`.
class NameFilter {
 public:
  static Result<NameFilter> Make(const std::optional<std::pair<std::string, bool>>& pattern) {
    NameFilter f;
    if (!pattern) return f;
    if (pattern->first.size() > 1024) {
      return Err(Status::InvalidArgument("the regular expression is longer than 1024 bytes"));
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    f.re_ = std::make_shared<RE2>(pattern->first, options);
    if (!f.re_->ok()) {
      return Err(Status::InvalidArgument("not a valid regular expression: " + f.re_->error()));
    }
    f.keep_ = pattern->second;
    return f;
  }
  bool Keeps(std::string_view name) const { return !re_ || RE2::PartialMatch(name, *re_) == keep_; }

 private:
  std::shared_ptr<RE2> re_;
  bool keep_ = true;
};

// The keys a label condition reads, `device` left out.
void FilterKeys(const LabelFilter& f, std::set<std::string>* out) {
  for (const LabelFilter& o : f.operands) FilterKeys(o, out);
  if (f.operands.empty() && f.key != "device") out->insert(f.key);
}

// LIMIT and OFFSET of a SHOW statement over `rows`.
void Page(json::array* rows, uint64_t limit, uint64_t offset) {
  if (offset >= rows->size()) {
    rows->clear();
    return;
  }
  rows->erase(rows->begin(), rows->begin() + static_cast<std::ptrdiff_t>(offset));
  if (limit != 0 && limit < rows->size()) {
    rows->erase(rows->begin() + static_cast<std::ptrdiff_t>(limit), rows->end());
  }
}

// A CSV cell: strings as they are, other values as JSON text (RFC 4180 quoting when needed).
void CsvCell(const json::value& v, std::string* out) {
  formats::AppendCsvField(v.is_string() ? std::string_view(v.as_string()) : JsonText(v), out);
}

// InfluxDB 1.x's CSV: "name,tags,<columns>" headers, one row per value; a new header (after an
// empty line) whenever the columns change.
std::string InfluxCsv(const std::vector<std::vector<InfluxSeries>>& results) {
  std::string out;
  std::vector<std::string> header;
  for (const auto& series_list : results) {
    for (const InfluxSeries& s : series_list) {
      if (s.columns != header) {
        if (!out.empty()) out += '\n';
        out += "name,tags";
        for (const std::string& c : s.columns) CsvCell(json::value(c), &(out += ','));
        out += '\n';
        header = s.columns;
      }
      std::string tags;
      for (const auto& [key, value] : s.tags) {
        tags += (tags.empty() ? "" : ",") + std::string(key) + "=" + std::string(value.as_string());
      }
      for (const json::value& row : s.values) {
        CsvCell(json::value(s.name), &out);
        CsvCell(json::value(tags), &(out += ','));
        for (const json::value& cell : row.as_array()) CsvCell(cell, &(out += ','));
        out += '\n';
      }
    }
  }
  return out;
}

// The project a statement reads: ON <db>, else the request's db, authorised for the caller (a
// project without a grant reads as one that does not exist).
Result<ProjectInfo> ReadableProject(DB& db, AuthService& auth, const Admitted& r,
                                    const std::string& on) {
  const std::string name = on.empty() ? r.project : on;
  if (name.empty()) return Err(Status::InvalidArgument("database name required"));
  auto project = db.GetProject(name);
  if (!project && project.error().code() != StatusCode::kNotFound) return Err(project.error());
  const ProjectRef ref{project ? std::optional<uint32_t>(project->id) : std::nullopt, name};
  if (!project || !auth.Authorize(r.principal, Operation::kQuery, ref).ok()) {
    return Err(Status::NotFound("database not found: " + name));
  }
  return std::move(*project);
}

// One SHOW statement's series.
Result<std::vector<InfluxSeries>> RunShow(DB& db, AuthService& auth, const Admitted& r,
                                          const influxql::ShowStatement& st) {
  using Kind = influxql::ShowStatement::Kind;
  std::vector<InfluxSeries> out;
  if (st.kind == Kind::kDatabases) {
    SENSORDB_ASSIGN_OR_RETURN(auto projects, db.ListProjects());
    InfluxSeries s{"databases", {"name"}, {}, {}};
    for (const ProjectInfo& p : projects) {
      SENSORDB_ASSIGN_OR_RETURN(auto role, auth.grants().RoleOf(r.principal.name, p.id));
      if (role.has_value()) s.values.push_back(json::array{json::value(p.name)});
    }
    Page(&s.values, st.limit, st.offset);
    out.push_back(std::move(s));
    return out;
  }
  SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo project, ReadableProject(db, auth, r, st.on));
  const std::string& name = project.name;
  if (st.kind == Kind::kRetentionPolicies) {
    const uint64_t hours = uint64_t{project.retention_days} * 24;
    InfluxSeries s{"", {"name", "duration", "shardGroupDuration", "replicaN", "default"}, {}, {}};
    s.values.push_back(json::array{json::value("autogen"),
                                   json::value(hours ? std::to_string(hours) + "h0m0s" : "0s"),
                                   json::value("168h0m0s"), json::value(1), json::value(true)});
    out.push_back(std::move(s));
    return out;
  }
  SENSORDB_ASSIGN_OR_RETURN(auto channels, db.ListChannels(name));
  SENSORDB_ASSIGN_OR_RETURN(auto device_labels, db.ListDeviceLabels(name));
  std::map<std::string_view, const std::vector<LabelHistory>*> labels_of;  // by device
  for (const DeviceLabels& d : device_labels) labels_of[d.device] = &d.labels;
  SENSORDB_ASSIGN_OR_RETURN(const NameFilter measurement_filter,
                            NameFilter::Make(st.measurement_pattern));
  SENSORDB_ASSIGN_OR_RETURN(const NameFilter key_filter, NameFilter::Make(st.key_pattern));
  // measurement -> field -> type, and measurement -> devices.
  std::map<std::string, std::map<std::string, ValueType>, std::less<>> fields;
  std::map<std::string, std::set<std::string>, std::less<>> devices;
  for (const ChannelInfo& c : channels) {
    const auto [m, f] = MeasurementAndField(c.name);
    if (st.from && m != *st.from) continue;
    if (st.measurement && m != *st.measurement) continue;
    if (!measurement_filter.Keeps(m)) continue;
    fields[std::string(m)].try_emplace(std::string(f), c.type);
    devices[std::string(m)].insert(c.device);
  }
  switch (st.kind) {
    case Kind::kMeasurements: {
      InfluxSeries s{"measurements", {"name"}, {}, {}};
      for (const auto& [m, unused] : fields) s.values.push_back(json::array{json::value(m)});
      Page(&s.values, st.limit, st.offset);
      if (!s.values.empty()) out.push_back(std::move(s));
      break;
    }
    case Kind::kFieldKeys:
      for (const auto& [m, fs] : fields) {
        InfluxSeries s{m, {"fieldKey", "fieldType"}, {}, {}};
        for (const auto& [f, type] : fs) {
          s.values.push_back(json::array{json::value(f), json::value(InfluxFieldType(type))});
        }
        Page(&s.values, st.limit, st.offset);
        if (!s.values.empty()) out.push_back(std::move(s));
      }
      break;
    case Kind::kTagKeys:
      // `device` and the label keys of the measurement's devices.
      for (const auto& [m, ds] : devices) {
        InfluxSeries s{m, {"tagKey"}, {}, {}};
        std::set<std::string_view> keys{"device"};
        for (const std::string& d : ds) {
          if (auto it = labels_of.find(d); it != labels_of.end()) {
            for (const LabelHistory& h : *it->second) keys.insert(h.key);
          }
        }
        for (std::string_view k : keys) s.values.push_back(json::array{json::value(k)});
        Page(&s.values, st.limit, st.offset);
        if (!s.values.empty()) out.push_back(std::move(s));
      }
      break;
    case Kind::kTagValues:
      // Every value a key had on the measurement's devices, at any time.
      for (const auto& [m, ds] : devices) {
        InfluxSeries s{m, {"key", "value"}, {}, {}};
        std::vector<std::string> keys = st.tag_keys;
        if (st.key_pattern) {  // WITH KEY =~ /re/: the matching keys of these devices
          std::set<std::string> all{"device"};
          for (const std::string& d : ds) {
            if (auto it = labels_of.find(d); it != labels_of.end()) {
              for (const LabelHistory& h : *it->second) all.insert(h.key);
            }
          }
          for (const std::string& k : all) {
            if (key_filter.Keeps(k)) keys.push_back(k);
          }
        }
        std::sort(keys.begin(), keys.end());
        for (const std::string& key : keys) {
          std::set<std::string_view> values;
          for (const std::string& d : ds) {
            if (key == "device") {
              values.insert(d);
              continue;
            }
            auto it = labels_of.find(d);
            if (it == labels_of.end()) continue;
            for (const LabelHistory& h : *it->second) {
              if (h.key != key) continue;
              for (const LabelEntry& e : h.entries) {
                if (!e.value.empty()) values.insert(e.value);
              }
            }
          }
          for (std::string_view v : values) {
            s.values.push_back(json::array{json::value(key), json::value(v)});
          }
        }
        Page(&s.values, st.limit, st.offset);
        if (!s.values.empty()) out.push_back(std::move(s));
      }
      break;
    case Kind::kSeries: {
      // One series per measurement and device, with the device's current labels.
      InfluxSeries s{"", {"key"}, {}, {}};
      for (const auto& [m, ds] : devices) {
        for (const std::string& d : ds) {
          std::vector<std::pair<std::string_view, std::string_view>> tags{{"device", d}};
          if (auto it = labels_of.find(d); it != labels_of.end()) {
            for (const LabelHistory& h : *it->second) {
              if (!h.entries.empty() && !h.entries.back().value.empty()) {
                tags.emplace_back(h.key, h.entries.back().value);
              }
            }
          }
          std::sort(tags.begin(), tags.end());
          std::string key = SeriesKeyPart(m, false);
          for (const auto& [k, v] : tags) {
            key += ',' + SeriesKeyPart(k, true) + '=' + SeriesKeyPart(v, true);
          }
          s.values.push_back(json::array{json::value(key)});
        }
      }
      Page(&s.values, st.limit, st.offset);
      if (!s.values.empty()) out.push_back(std::move(s));
      break;
    }
    case Kind::kDatabases:
    case Kind::kRetentionPolicies:
      break;  // answered above
  }
  return out;
}

// What a /query request may cost: the rows of one SELECT (raw points, or buckets with a fill,
// over all its series, before LIMIT) and the cells (rows x columns, time included) of all its
// statements together. Past either the statement is refused, before any answer is sent.
constexpr size_t kMaxSelectRows = 100'000;
constexpr size_t kMaxQueryCells = 2'000'000;
constexpr size_t kMaxSelectColumns = 256;  // `*` expanded

// A time in the answer: RFC 3339, or an integer in the `epoch` unit.
json::value TimeJson(int64_t ns, std::string_view epoch) {
  formats::Precision p{};
  if (epoch.empty() || !formats::ParsePrecision(epoch, &p)) {
    return json::value(formats::FormatRfc3339(ns));
  }
  const int64_t unit = *formats::ScaleTimestamp(1, p);
  int64_t q = ns / unit;
  if (ns % unit != 0 && ns < 0) --q;  // floor, as InfluxDB truncates toward the past
  return json::value(q);
}

Status TooManyRows(size_t rows) {
  return Status::ResourceExhausted(fmt::format(
      "the SELECT returns more than {} rows (before LIMIT; {} cells at most per request): "
      "narrow the time range, name a device, select fewer fields or aggregate with a larger "
      "GROUP BY time()",
      rows, kMaxQueryCells));
}

// Column names: the alias, else the function or the field; repeated names get _1, _2, ...
std::vector<std::string> ColumnNames(const std::vector<influxql::SelectField>& fields) {
  std::vector<std::string> names{"time"};
  std::map<std::string, int> seen{{"time", 0}};
  for (const auto& f : fields) {
    std::string n = !f.alias.empty() ? f.alias : !f.function.empty() ? f.function : f.field;
    auto [it, fresh] = seen.try_emplace(n, 0);
    if (!fresh) n += "_" + std::to_string(++it->second);
    names.push_back(std::move(n));
  }
  return names;
}

// The start of the bucket of width `w` holding `t` when buckets start at `offset` + k * w
// (0 <= offset < w; t inside the engine's timestamps, so nothing overflows).
int64_t ShiftedBucket(int64_t t, int64_t w, int64_t offset) {
  const int64_t u = t - offset;
  int64_t q = u / w;
  if (u % w != 0 && u < 0) --q;
  return q * w + offset;
}

// Folds one engine bucket into a GROUP BY time bucket with an offset (each engine bucket lies
// in one of them): the aggregates merge as the engine's own buckets do.
void MergeRow(const AggregateRow& in, AggregateRow* out) {
  if (in.count == 0) return;
  if (out->count == 0) {
    const SeriesRef* series = out->series;
    const int64_t start = out->bucket_start_ns;
    *out = in;
    out->series = series;
    out->bucket_start_ns = start;
    out->group = {};
    return;
  }
  out->count += in.count;
  out->sum += in.sum;
  if (!std::isnan(in.min)) out->min = std::isnan(out->min) ? in.min : std::min(out->min, in.min);
  if (!std::isnan(in.max)) out->max = std::isnan(out->max) ? in.max : std::max(out->max, in.max);
  if (in.first_ns < out->first_ns) out->first_ns = in.first_ns, out->first = in.first;
  if (in.last_ns >= out->last_ns) out->last_ns = in.last_ns, out->last = in.last;
}

// GROUP BY time with fill: every bucket of [start, end) per series, the missing cells filled.
// `rows` maps bucket start -> cells (nullopt: no value).
using Cells = std::vector<std::optional<double>>;
Status FillBuckets(const influxql::SelectStatement& st, int64_t end,
                   const std::vector<influxql::SelectField>& fields, size_t max_rows,
                   std::map<int64_t, Cells>* rows) {
  const size_t columns = fields.size();
  using F = influxql::SelectStatement::Fill;
  if (st.fill == F::kNone) return Status::Ok();
  const int64_t w = st.interval_ns;
  // No point lies outside the engine's timestamps: the buckets stay inside them, which keeps
  // the arithmetic below far from int64's ends.
  const int64_t start = std::max(st.start_ns, kMinTimestamp);
  end = std::min(end, kMaxTimestamp + 1);
  const int64_t first = ShiftedBucket(start, w, st.offset_ns);
  if (end > first && (uint64_t(end) - uint64_t(first)) / uint64_t(w) >= max_rows) {
    return Status::ResourceExhausted(fmt::format(
        "GROUP BY time() makes more than {} buckets over this range: use a larger interval, a "
        "shorter range, fewer devices (SLIMIT) or fill(none)",
        max_rows));
  }
  for (int64_t t = first; t < end;) {
    auto [it, fresh] = rows->try_emplace(t, Cells(columns));
    // An empty bucket counts 0 (InfluxDB's count under fill(null)).
    if (fresh && st.fill == F::kNull) {
      for (size_t c = 0; c < columns; ++c) {
        if (fields[c].function == "count") it->second[c] = 0;
      }
    }
    if (__builtin_add_overflow(t, w, &t)) break;
  }
  if (st.fill == F::kValue) {
    for (auto& [t, cells] : *rows) {
      for (auto& c : cells) c = c.value_or(st.fill_value);
    }
  } else if (st.fill == F::kPrevious) {
    Cells last(columns);
    for (auto& [t, cells] : *rows) {
      for (size_t c = 0; c < columns; ++c) {
        if (cells[c])
          last[c] = cells[c];
        else
          cells[c] = last[c];
      }
    }
  } else if (st.fill == F::kLinear) {
    for (size_t c = 0; c < columns; ++c) {
      std::optional<std::pair<int64_t, double>> before;
      std::vector<std::map<int64_t, Cells>::iterator> gap;
      for (auto it = rows->begin(); it != rows->end(); ++it) {
        if (!it->second[c]) {
          gap.push_back(it);
          continue;
        }
        const double v = *it->second[c];
        if (before) {
          for (auto g : gap) {
            const double f = double(g->first - before->first) / double(it->first - before->first);
            g->second[c] = before->second + f * (v - before->second);
          }
        }
        gap.clear();
        before = {it->first, v};
      }
    }
  }
  return Status::Ok();
}

// The value of an InfluxQL function (count, sum, mean, min, max, first, last, spread) in an
// aggregate row.
// Points one SELECT may read for median() and percentile(), which need every value (8 bytes
// each held until the statement is answered).
constexpr size_t kMaxOrderPoints = 1'000'000;
// Engine buckets one GROUP BY time bucket with an offset may be made of.
constexpr int64_t kMaxOffsetSplit = 1440;

bool IsOrderFunction(std::string_view function) {
  return function == "median" || function == "percentile";
}

// The start of the bucket of `t` (GROUP BY time's interval and offset), or the range's start
// (0 without one) when the statement has no GROUP BY time.
int64_t BucketStart(const influxql::SelectStatement& st, int64_t t) {
  if (st.interval_ns == 0)
    return st.start_ns == std::numeric_limits<int64_t>::min() ? 0 : st.start_ns;
  return ShiftedBucket(t, st.interval_ns, st.offset_ns);
}

// median (the middle value, or the mean of the two middle ones) or percentile N (the value of
// rank floor(n * N / 100 + 0.5), none below rank 1), as InfluxDB computes them, of sorted values.
std::optional<double> OrderValue(const influxql::SelectField& f, const std::vector<double>& vs) {
  const size_t n = vs.size();
  if (n == 0) return std::nullopt;
  if (f.function == "median") return n % 2 ? vs[n / 2] : (vs[n / 2 - 1] + vs[n / 2]) / 2;
  const auto rank = static_cast<int64_t>(std::floor(double(n) * f.percentile / 100 + 0.5));
  if (rank < 1 || rank > int64_t(n)) return std::nullopt;
  return vs[size_t(rank - 1)];
}

double FunctionValue(std::string_view function, const AggregateRow& row) {
  if (function == "spread") return row.max - row.min;
  Aggregation a{};
  ParseAggregation(function, &a);  // the parser admits only the engine's names and spread
  return row.Get(a);
}

// One SELECT's series; `cells_left` is the request's budget of cells, spent by this statement.
Result<std::vector<InfluxSeries>> RunSelect(DB& db, AuthService& auth, const Admitted& r,
                                            const influxql::SelectStatement& st,
                                            std::string_view epoch, int64_t now_ns,
                                            size_t* cells_left) {
  SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo project, ReadableProject(db, auth, r, st.on));
  // The measurement's fields: field key -> channel. Named fields map by name (a missing one
  // reads nothing); the catalog is listed only for `*` and for `value`, which may be a
  // channel without a dot (10 000 channels cost a listing of about 10 ms).
  std::map<std::string, std::string, std::less<>> channel_of;
  const bool list = std::any_of(st.fields.begin(), st.fields.end(),
                                [](const auto& f) { return f.field == "*" || f.field == "value"; });
  if (list) {
    SENSORDB_ASSIGN_OR_RETURN(auto channels, db.ListChannels(project.name, st.device.value_or("")));
    for (const ChannelInfo& c : channels) {
      const auto [m, f] = MeasurementAndField(c.name);
      if (m == st.measurement) channel_of.try_emplace(std::string(f), c.name);
    }
  }
  for (const auto& f : st.fields) {
    if (f.field != "*") channel_of.try_emplace(f.field, st.measurement + "." + f.field);
  }
  std::vector<influxql::SelectField> fields;
  for (const auto& f : st.fields) {
    if (f.field != "*") {
      fields.push_back(f);
      continue;
    }
    for (const auto& [key, unused] : channel_of) fields.push_back({"", key, ""});
  }
  if (fields.size() > kMaxSelectColumns) {
    return Err(Status::InvalidArgument(
        fmt::format("the SELECT has {} fields, more than {}: name the fields", fields.size(),
                    kMaxSelectColumns)));
  }
  // Labels (docs/LABELS.md): the keys to group by (sorted: the engine's group values then come
  // in the order of the answer's tags), and the keys of tag conditions, which must not be fields.
  std::vector<std::string> group_keys = st.Aggregates() ? st.group_by : std::vector<std::string>();
  if (!st.Aggregates() && !st.group_by.empty()) {
    return Err(Status::NotSupported(
        "GROUP BY '" + st.group_by.front() +
        "' on raw points is not supported by sensordb's InfluxQL (group raw points by device, or "
        "use an aggregate function; docs/INFLUXQL.md)"));
  }
  std::set<std::string> filter_keys;
  for (const LabelFilter& f : st.tags) FilterKeys(f, &filter_keys);
  if (!filter_keys.empty() || (st.group_by_all && st.Aggregates())) {
    SENSORDB_ASSIGN_OR_RETURN(auto label_values, db.ListLabelValues(project.name));
    std::set<std::string> known;
    for (const auto& [key, unused] : label_values) known.insert(key);
    if (st.group_by_all && st.Aggregates()) {
      group_keys.insert(group_keys.end(), known.begin(), known.end());
    }
    std::vector<ChannelInfo> all_channels;
    for (const std::string& key : filter_keys) {
      if (known.contains(key)) continue;
      if (all_channels.empty()) {
        SENSORDB_ASSIGN_OR_RETURN(all_channels, db.ListChannels(project.name));
      }
      const bool is_field =
          std::any_of(all_channels.begin(), all_channels.end(), [&](const auto& c) {
            const auto [m, f] = MeasurementAndField(c.name);
            return m == st.measurement && f == key;
          });
      if (is_field) {
        return Err(Status::NotSupported(
            "WHERE on the field '" + key +
            "' is not supported by sensordb's InfluxQL (tags and time only; docs/INFLUXQL.md)"));
      }
      // Neither a label nor a field: a tag no device has, empty everywhere (as in InfluxDB).
    }
  }
  std::sort(group_keys.begin(), group_keys.end());
  group_keys.erase(std::unique(group_keys.begin(), group_keys.end()), group_keys.end());
  // The answer's tag keys, sorted, and where each series key's values come from.
  std::vector<std::string> tag_names = group_keys;
  if (st.group_by_device) {
    tag_names.insert(std::lower_bound(tag_names.begin(), tag_names.end(), "device"), "device");
  }
  // SELECT * shows the device as a column, in its place among the field keys (InfluxDB sorts
  // the columns of `*`); `tag_at` is its index among the cells.
  const bool tag_column =
      !st.Aggregates() && !st.group_by_device &&
      std::any_of(st.fields.begin(), st.fields.end(), [](const auto& f) { return f.field == "*"; });
  size_t tag_at = 0;
  if (tag_column) {
    while (tag_at < fields.size() && fields[tag_at].field < "device") ++tag_at;
  }
  const size_t width = fields.size() + (tag_column ? 1 : 0);
  const size_t max_rows = std::min(kMaxSelectRows, *cells_left / (width + 1));
  const TimeRange range{st.start_ns, st.end_ns};
  size_t produced = 0;  // rows read
  size_t order_points = 0;  // points read for median() and percentile()
  size_t filled = 0;    // rows of the aggregate series so far, fill included
  // series key (the values of tag_names) -> rows.
  using SeriesKey = std::vector<std::string>;
  std::map<SeriesKey, std::map<int64_t, Cells>> agg;
  std::map<SeriesKey, std::map<std::pair<int64_t, std::string>, json::array>> raw;
  const auto device_at = static_cast<size_t>(
      std::lower_bound(tag_names.begin(), tag_names.end(), "device") - tag_names.begin());
  const size_t ncols = fields.size();
  // One engine scan per field, whatever the number of its columns: a row of the aggregate
  // holds every function at once (`mean(t), max(t)` reads t once).
  std::map<std::string_view, std::vector<size_t>> columns_of;
  for (size_t c = 0; c < ncols; ++c) columns_of[fields[c].field].push_back(c);
  for (const auto& [field, cols] : columns_of) {
    const auto channel = channel_of.find(field);
    if (channel == channel_of.end()) continue;  // a field the measurement lacks stays empty
    const Selector selector{st.device.value_or(""), channel->second, st.tags};
    Status s;
    // median() and percentile() need the values themselves: a raw read, bounded.
    std::vector<size_t> engine_cols, order_cols;
    for (size_t c : cols)
      (IsOrderFunction(fields[c].function) ? order_cols : engine_cols).push_back(c);
    if (st.Aggregates() && !engine_cols.empty()) {
      AggregateQuery q;
      q.selector = selector;
      q.range = range;
      q.bucket_ns = st.interval_ns;
      q.per_series = st.group_by_device;
      q.group_by = group_keys;
      // An offset: the engine's buckets are multiples of the width since the epoch, so it makes
      // buckets of gcd(interval, offset), which each lie in one shifted bucket, merged here.
      std::map<SeriesKey, std::map<int64_t, AggregateRow>> shifted;
      if (st.offset_ns != 0) {
        q.bucket_ns = std::gcd(st.interval_ns, st.offset_ns);
        if (st.interval_ns / q.bucket_ns > kMaxOffsetSplit) {
          return Err(Status::NotSupported(fmt::format(
              "GROUP BY time() with an offset that divides the interval into more than {} parts "
              "is not supported by sensordb's InfluxQL (use an offset of whole minutes or hours)",
              kMaxOffsetSplit)));
        }
      }
      SeriesKey key;
      s = db.Aggregate(project.name, q, [&](const AggregateRow& row) {
        key.assign(row.group.begin(), row.group.end());
        if (row.series)
          key.insert(key.begin() + std::ptrdiff_t(device_at), std::string(row.series->device));
        int64_t t = st.interval_ns ? row.bucket_start_ns : st.start_ns;
        if (t == std::numeric_limits<int64_t>::min()) t = 0;
        if (st.offset_ns != 0) {
          t = ShiftedBucket(t, st.interval_ns, st.offset_ns);
          auto [it, fresh] = shifted[key].try_emplace(t, AggregateRow{});
          // A row is counted once, whichever field made it first.
          if (fresh) {
            const auto rows = agg.find(key);
            const bool known = rows != agg.end() && rows->second.contains(t);
            if (!known && ++produced > max_rows) return false;
          }
          MergeRow(row, &it->second);
          return true;
        }
        auto [it, fresh] = agg[key].try_emplace(t, Cells(ncols));
        if (fresh && ++produced > max_rows) return false;
        for (size_t c : engine_cols) it->second[c] = FunctionValue(fields[c].function, row);
        return true;
      });
      for (const auto& [k, buckets] : shifted) {
        for (const auto& [t, row] : buckets) {
          auto [it, fresh] = agg[k].try_emplace(t, Cells(ncols));
          for (size_t c : engine_cols) it->second[c] = FunctionValue(fields[c].function, row);
        }
      }
    }
    if (s.ok() && st.Aggregates() && !order_cols.empty()) {
      if (!group_keys.empty()) {
        return Err(Status::NotSupported(
            "median() and percentile() with GROUP BY a label are not supported by sensordb's "
            "InfluxQL (group them by time and device; docs/INFLUXQL.md)"));
      }
      // series key -> bucket -> the values of the points in it.
      std::map<SeriesKey, std::map<int64_t, std::vector<double>>> values;
      s = db.QueryRaw(
          project.name, selector, range, [&](const SeriesRef& series, const PointRun& run) {
            auto& buckets =
                values[st.group_by_device ? SeriesKey{std::string(series.device)} : SeriesKey()];
            for (size_t i = 0; i < run.size(); ++i) {
              if (++order_points > kMaxOrderPoints) return false;
              const double v = run.value(i).AsDouble();
              if (std::isnan(v)) continue;
              buckets[BucketStart(st, run.timestamps[i])].push_back(v);
            }
            return true;
          });
      if (order_points > kMaxOrderPoints) {
        return Err(Status::InvalidArgument(fmt::format(
            "median() and percentile() read at most {} points per statement: narrow the range",
            kMaxOrderPoints)));
      }
      for (auto& [key, buckets] : values) {
        for (auto& [t, vs] : buckets) {
          auto [it, fresh] = agg[key].try_emplace(t, Cells(ncols));
          if (fresh && ++produced > max_rows) return Err(TooManyRows(max_rows));
          std::sort(vs.begin(), vs.end());
          for (size_t c : order_cols) it->second[c] = OrderValue(fields[c], vs);
        }
      }
    } else if (!st.Aggregates()) {
      s = db.QueryRaw(
          project.name, selector, range, [&](const SeriesRef& series, const PointRun& run) {
            const std::string device(series.device);
            auto& rows = raw[st.group_by_device ? SeriesKey{device} : SeriesKey()];
            for (size_t i = 0; i < run.size(); ++i) {
              auto [it, fresh] = rows.try_emplace({run.timestamps[i], device}, json::array());
              if (fresh) {
                if (++produced > max_rows) return false;
                it->second.resize(width);
                if (tag_column) it->second[tag_at] = json::value(device);
              }
              for (size_t c : cols) {
                it->second[c + (tag_column && c >= tag_at ? 1 : 0)] = ValueJson(run.value(i));
              }
            }
            return true;
          });
    }
    SENSORDB_RETURN_IF_ERROR(s);
    if (produced > max_rows) return Err(TooManyRows(max_rows));
  }

  std::vector<std::string> columns = ColumnNames(fields);
  if (tag_column) {
    columns.insert(columns.begin() + 1 + static_cast<std::ptrdiff_t>(tag_at), "device");
  }
  std::vector<InfluxSeries> out;
  const auto finish = [&](const SeriesKey& key, json::array values) {
    if (st.descending) std::reverse(values.begin(), values.end());
    if (st.limit != 0 && values.size() > st.limit) values.resize(st.limit);
    if (values.empty() || (st.slimit != 0 && out.size() == st.slimit)) return;
    InfluxSeries s{st.measurement, columns, std::move(values), {}};
    for (size_t i = 0; i < key.size(); ++i) s.tags[tag_names[i]] = key[i];
    out.push_back(std::move(s));
  };
  if (st.Aggregates()) {
    const int64_t end = st.end_ns == std::numeric_limits<int64_t>::max() ? now_ns + 1 : st.end_ns;
    for (auto& [key, rows] : agg) {
      if (st.slimit != 0 && out.size() == st.slimit) break;  // before filling the others
      if (st.interval_ns != 0) {
        SENSORDB_RETURN_IF_ERROR(FillBuckets(st, end, fields, max_rows - filled, &rows));
      }
      filled += rows.size();
      if (filled > max_rows) return Err(TooManyRows(max_rows));
      json::array values;
      for (const auto& [t, cells] : rows) {
        json::array row{TimeJson(t, epoch)};
        for (size_t c = 0; c < ncols; ++c) {
          if (!cells[c]) {
            row.push_back(nullptr);
          } else if (fields[c].function == "count") {
            row.push_back(json::value(static_cast<int64_t>(*cells[c])));
          } else {
            row.push_back(NumberJson(*cells[c]));
          }
        }
        values.push_back(std::move(row));
      }
      finish(key, std::move(values));
    }
  } else {
    for (auto& [key, rows] : raw) {
      json::array values;
      for (auto& [at, cells] : rows) {
        json::array row{TimeJson(at.first, epoch)};
        for (auto& cell : cells) row.push_back(std::move(cell));
        values.push_back(std::move(row));
      }
      finish(key, std::move(values));
    }
  }
  *cells_left -= std::min(*cells_left, std::max(produced, filled) * (width + 1));
  return out;
}

}  // namespace

// GET or POST /query (docs/INFLUXQL.md): InfluxQL statements, each answered as a result of
// InfluxDB 1.x's JSON (or CSV). A statement that fails gives its result an "error" and the
// others still run; a query that does not parse is a 400 with {"error": ...}.
RestResponse RestHandler::InfluxQuery(const Admitted& r, const std::string& body) {
  const auto bad = [](unsigned status, const std::string& message) {
    return ErrorResponse(status, message, Dialect::kInfluxV1);
  };
  const std::initializer_list<std::string_view> kParams = {
      "q", "db", "rp", "epoch", "chunked", "chunk_size", "pretty", "params"};
  if (Status s = CheckParams(r.target, kParams); !s.ok()) return bad(400, s.message());
  std::string q(Param(r.target, "q"));
  if (r.route->method == "POST" && !body.empty()) {
    // A form body (Grafana, the influx CLI): q there; db belongs in the URL, where it is
    // authorised before the body is read.
    auto form = ParseTarget("/?" + body);
    if (!form) return bad(400, "the form body is not valid application/x-www-form-urlencoded");
    for (const auto& [key, value] : form->params) {
      if (key == "q") {
        q = value;
      } else if (key == "db" && value != r.project) {
        return bad(400, "parameter 'db' must be given in the URL");
      } else if (key == "u" || key == "p") {
        return bad(400, "credentials go in the Authorization header or the URL, not the body");
      } else if (key != "db" && std::find(kParams.begin(), kParams.end(), key) == kParams.end()) {
        return bad(400, "unknown parameter '" + key + "' in the form body");
      }
    }
  }
  if (q.empty()) return bad(400, "missing required parameter \"q\"");
  if (const std::string_view epoch = Param(r.target, "epoch"); !epoch.empty()) {
    formats::Precision unused{};
    if (!formats::ParsePrecision(epoch, &unused)) {
      return bad(400, "parameter 'epoch': '" + std::string(epoch) +
                          "' is not one of n, ns, u, us, ms, s, m, h");
    }
  }
  const int64_t now = WallClockNs();
  auto statements = influxql::Parse(q, now);
  if (!statements) return bad(400, statements.error().message());

  json::array results;
  std::vector<std::vector<InfluxSeries>> all;  // CSV: every statement's series
  size_t cells_left = kMaxQueryCells;          // shared by the statements
  for (size_t id = 0; id < statements->size(); ++id) {
    json::object result{{"statement_id", id}};
    const auto& st = (*statements)[id];
    auto series = std::holds_alternative<influxql::ShowStatement>(st)
                      ? RunShow(db_, auth_, r, std::get<influxql::ShowStatement>(st))
                      : RunSelect(db_, auth_, r, std::get<influxql::SelectStatement>(st),
                                  Param(r.target, "epoch"), now, &cells_left);
    if (!series) {
      result["error"] = series.error().message();
    } else if (r.csv) {
      all.push_back(std::move(*series));
    } else {
      if (!series->empty()) {
        json::array list;
        for (InfluxSeries& s : *series) {
          json::object o;
          if (!s.name.empty()) o["name"] = s.name;
          if (!s.tags.empty()) o["tags"] = s.tags;
          json::array cols;
          for (const std::string& c : s.columns) cols.push_back(json::value(c));
          o["columns"] = std::move(cols);
          if (!s.values.empty()) o["values"] = std::move(s.values);  // none: InfluxDB omits it
          list.push_back(std::move(o));
        }
        result["series"] = std::move(list);
      }
    }
    results.push_back(std::move(result));
  }
  if (r.csv) {
    RestResponse out;
    out.content_type = "application/csv";
    out.body = InfluxCsv(all);
    return out;
  }
  return Json(json::object{{"results", std::move(results)}});
}

}  // namespace sensordb::server::rest
