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
  columns.insert(columns.end(), {"bucket_start_ns", "time"});
  for (Aggregation a : args.aggs) columns.emplace_back(AggregationName(a));
  return columns;
}

Status RunAggregate(DB& db, const QueryArgs& args, const TimeRange& range, RowWriter& out) {
  AggregateQuery q;
  q.selector = args.selector;
  q.range = range;
  q.per_series = args.per_series;
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

Status RunQuery(const GlobalArgs& global, const QueryArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  TimeRange range;
  if (!args.latest) {
    SENSORDB_ASSIGN_OR_RETURN(range, ParseRange(args));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  std::vector<std::string> columns = {"device", "channel", "timestamp_ns", "time", "value"};
  if (!args.aggs.empty()) columns = AggregateColumns(args);
  auto out = RowWriter::Make(format, stdout, std::move(columns));
  Status s = args.latest         ? RunLatest(*db, args, *out)
             : args.aggs.empty() ? RunRaw(*db, args, range, *out)
                                 : RunAggregate(*db, args, range, *out);
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
  AddFormatOption(cmd, &args->format);
  cmd->add_option("--limit,-n", args->limit, "At most N rows");
  latest->needs(device)->excludes(agg)->excludes(start)->excludes(end);
  every->needs(agg);
  per_series->needs(agg);
  cmd->callback([&global, action, args] {
    ParseAggregations(*args);
    *action = [&global, args] { return RunQuery(global, *args); };
  });
}

}  // namespace sensordb::cli
