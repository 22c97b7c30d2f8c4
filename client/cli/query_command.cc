// `sensordb query`: raw points, latest values or bucketed aggregates, streamed to a RowWriter.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <limits>

#include "cli_common.h"
#include "output.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

struct QueryArgs {
  std::string project;
  Selector selector;
  std::string start;
  std::string end;
  bool latest = false;
  std::vector<std::string> agg_names;
  std::vector<Aggregation> aggs;  // parsed from agg_names by the parse callback
  std::string every;
  bool per_series = false;
  std::vector<std::string> where;     // label conditions (KEY=V, KEY!=V, KEY=~RE, KEY!~RE)
  std::vector<std::string> group_by;  // label keys
  std::string format;
  uint64_t limit = 0;  // 0 = no limit
};

Result<TimeRange> ParseRange(const QueryArgs& args) {
  const int64_t now = NowNanos();
  TimeRange range;
  if (!args.start.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(range.start_ns, ParseTimePoint(args.start, now));
  }
  if (!args.end.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(range.end_ns, ParseTimePoint(args.end, now));
  }
  if (range.start_ns >= range.end_ns) {
    return Err(Status::InvalidArgument("--start must be before --end (the range is [start, end))"));
  }
  return range;
}

Status RunRaw(DB& db, const QueryArgs& args, const TimeRange& range, RowWriter& out) {
  uint64_t rows = 0;
  std::string time;
  return db.QueryRaw(
      args.project, args.selector, range, [&](const SeriesRef& series, const PointRun& run) {
        for (size_t i = 0; i < run.size(); ++i) {
          if (args.limit != 0 && rows++ >= args.limit) return false;
          time = FormatRfc3339(run.timestamps[i]);
          const Cell cells[] = {Cell::Text(series.device), Cell::Text(series.channel),
                                Cell::Int(run.timestamps[i]), Cell::Text(time),
                                Cell::FromValue(run.value(i))};
          out.Row(cells);
        }
        return true;
      });
}

Status RunLatest(DB& db, const QueryArgs& args, RowWriter& out) {
  SENSORDB_ASSIGN_OR_RETURN(auto points, db.Latest(args.project, args.selector.device));
  uint64_t rows = 0;
  for (const LatestPoint& p : points) {
    if (!args.selector.channel.empty() && p.channel != args.selector.channel) continue;
    if (args.limit != 0 && rows++ >= args.limit) break;
    const std::string time = FormatRfc3339(p.timestamp_ns);
    const Cell cells[] = {Cell::Text(args.selector.device), Cell::Text(p.channel),
                          Cell::Int(p.timestamp_ns), Cell::Text(time), Cell::FromValue(p.value)};
    out.Row(cells);
  }
  return Status::Ok();
}

std::vector<std::string> AggregateColumns(const QueryArgs& args) {
  std::vector<std::string> columns;
  if (args.per_series) columns = {"device", "channel"};
  columns.insert(columns.end(), args.group_by.begin(), args.group_by.end());
  columns.insert(columns.end(), {"bucket_start_ns", "time"});
  for (Aggregation a : args.aggs) columns.emplace_back(AggregationName(a));
  return columns;
}

Status RunAggregate(DB& db, const QueryArgs& args, const TimeRange& range, RowWriter& out) {
  AggregateQuery q;
  q.selector = args.selector;
  q.range = range;
  q.per_series = args.per_series;
  q.group_by = args.group_by;
  if (!args.every.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(q.bucket_ns, ParseDuration(args.every));
  }
  // One bucket over a range without a start: it starts nowhere in particular.
  const bool unbounded = q.bucket_ns == 0 && range.start_ns == std::numeric_limits<int64_t>::min();
  uint64_t rows = 0;
  std::vector<Cell> cells;
  std::string time;
  return db.Aggregate(args.project, q, [&](const AggregateRow& row) {
    if (args.limit != 0 && rows++ >= args.limit) return false;
    cells.clear();
    if (args.per_series) {
      cells.push_back(Cell::Text(row.series ? row.series->device : ""));
      cells.push_back(Cell::Text(row.series ? row.series->channel : ""));
    }
    for (const std::string& value : row.group) cells.push_back(Cell::Text(value));
    if (unbounded) {
      cells.insert(cells.end(), {Cell::Null(), Cell::Null()});
    } else {
      time = FormatRfc3339(row.bucket_start_ns);
      cells.insert(cells.end(), {Cell::Int(row.bucket_start_ns), Cell::Text(time)});
    }
    for (Aggregation a : args.aggs) {
      cells.push_back(a == Aggregation::kCount ? Cell::Uint(row.count) : Cell::Float(row.Get(a)));
    }
    out.Row(cells);
    return true;
  });
}

// One --where condition: KEY=VALUE, KEY!=VALUE, KEY=~RE or KEY!~RE (at the first = or !). An
// empty VALUE stands for "no such label", as in queries.
Result<LabelFilter> ParseCondition(std::string_view text) {
  const size_t at = text.find_first_of("=!");
  using Op = LabelFilter::Op;
  if (at == 0 || at == std::string_view::npos) {
    return Err(Status::InvalidArgument(fmt::format(
        "--where '{}': expected KEY=VALUE, KEY!=VALUE, KEY=~REGEX or KEY!~REGEX", text)));
  }
  const std::string key(text.substr(0, at));
  const std::string_view rest = text.substr(at);
  if (rest.starts_with("=~")) return LabelFilter{Op::kMatch, key, std::string(rest.substr(2)), {}};
  if (rest.starts_with("!~"))
    return LabelFilter{Op::kNoMatch, key, std::string(rest.substr(2)), {}};
  if (rest.starts_with("!=")) return LabelFilter{Op::kNe, key, std::string(rest.substr(2)), {}};
  if (rest.starts_with("=")) return LabelFilter{Op::kEq, key, std::string(rest.substr(1)), {}};
  return Err(
      Status::InvalidArgument(fmt::format("--where '{}': a lone '!' (expected != or !~)", text)));
}

Status RunQuery(const GlobalArgs& global, const QueryArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  TimeRange range;
  if (!args.latest) {
    SENSORDB_ASSIGN_OR_RETURN(range, ParseRange(args));
  }
  QueryArgs with_labels = args;
  for (const std::string& w : args.where) {
    SENSORDB_ASSIGN_OR_RETURN(LabelFilter f, ParseCondition(w));
    with_labels.selector.labels.push_back(std::move(f));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  std::vector<std::string> columns = {"device", "channel", "timestamp_ns", "time", "value"};
  if (!args.aggs.empty()) columns = AggregateColumns(args);
  auto out = RowWriter::Make(format, stdout, std::move(columns));
  Status s = args.latest         ? RunLatest(*db, args, *out)
             : args.aggs.empty() ? RunRaw(*db, with_labels, range, *out)
                                 : RunAggregate(*db, with_labels, range, *out);
  Status finished = out->Finish();
  SENSORDB_RETURN_IF_ERROR(s);
  return finished;
}

// Turns --agg names into Aggregations; a usage error when one is unknown.
void ParseAggregations(QueryArgs& args) {
  args.aggs.clear();
  for (const std::string& name : args.agg_names) {
    Aggregation a;
    if (!ParseAggregation(name, &a)) {
      throw CLI::ValidationError(
          "--agg", fmt::format("unknown aggregation '{}' (use count, sum, mean, min, max, "
                               "first or last)",
                               name));
    }
    args.aggs.push_back(a);
  }
}

}  // namespace

void AddQueryCommand(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("query", "Read raw points, latest values or aggregates");
  cmd->add_option("--project,-p", args->project, "Project")->required();
  auto* device = cmd->add_option("--device,-d", args->selector.device, "Device (default: all)");
  cmd->add_option("--channel,-c", args->selector.channel, "Channel (default: all)");
  auto* start = cmd->add_option("--start", args->start,
                                "Range start: RFC 3339, integer ns, now, -1h, now-30m");
  auto* end = cmd->add_option("--end", args->end, "Range end (exclusive), same forms as --start");
  auto* latest =
      cmd->add_flag("--latest", args->latest, "Newest point of each channel of --device");
  auto* agg = cmd->add_option("--agg", args->agg_names,
                              "Aggregations: count,sum,mean,min,max,first,last (repeatable)")
                  ->delimiter(',');
  auto* every = cmd->add_option("--every", args->every, "Bucket width: 30s, 5m, 1h, 1d or ns");
  auto* per_series = cmd->add_flag("--per-series", args->per_series, "One row per series");
  auto* where = cmd->add_option("--where", args->where,
                                "Label condition KEY=VALUE, KEY!=VALUE, KEY=~REGEX or KEY!~REGEX "
                                "(repeatable; all must hold; docs/LABELS.md)");
  auto* group_by = cmd->add_option("--group-by", args->group_by,
                                   "Label keys to group aggregates by (repeatable or a,b)")
                       ->delimiter(',');
  AddFormatOption(cmd, &args->format);
  cmd->add_option("--limit,-n", args->limit, "At most N rows");
  latest->needs(device)->excludes(agg)->excludes(start)->excludes(end)->excludes(where);
  group_by->needs(agg);
  every->needs(agg);
  per_series->needs(agg);
  cmd->callback([&global, action, args] {
    ParseAggregations(*args);
    *action = [&global, args] { return RunQuery(global, *args); };
  });
}

}  // namespace sensordb::cli
