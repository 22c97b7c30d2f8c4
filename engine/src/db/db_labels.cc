// Device labels in the engine (docs/LABELS.md): direct changes, listings, and the queries that
// filter or group by labels. The histories live in the catalog (catalog/labels.h); the plan of a
// query (query/label_plan.h) cuts each device's time into the pieces to read.
#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>

#include "db/db_impl.h"
#include "query/aggregator.h"
#include "query/label_plan.h"
#include "query/querier.h"

namespace sensordb {
namespace {

// Series per query thread of a merged label aggregate (as the plain aggregate's).
constexpr size_t kLabelSeriesPerThread = 128;

Status TooManyGroupBuckets(size_t max_buckets) {
  return Status::ResourceExhausted(
      "the aggregate's groups need more than " + std::to_string(max_buckets) +
      " buckets at once (Options::max_aggregate_buckets, limits.max_aggregate_buckets of "
      "sensordbd): use a wider bucket, a shorter range or fewer groups");
}

// Emits the groups in `ids` (each once) in ascending order of their values, each row with its
// group's values; `agg(g)` is group g's aggregator. False when the callback stopped.
bool EmitGroups(std::vector<uint32_t>& ids, const query::LabelPlan& plan,
                const std::function<query::Aggregator&(uint32_t)>& agg, const SeriesRef* ref,
                const AggregateCallback& callback) {
  std::sort(ids.begin(), ids.end(),
            [&](uint32_t a, uint32_t b) { return plan.group(a) < plan.group(b); });
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (uint32_t g : ids) {
    const std::vector<std::string>& values = plan.group(g);
    const bool go_on = agg(g).Emit(ref, [&](const AggregateRow& r) {
      AggregateRow row = r;
      row.group = values;
      return callback(row);
    });
    if (!go_on) return false;
  }
  return true;
}

}  // namespace

Status DBImpl::WriteLabelsOnly(catalog::ProjectMeta& project, const WriteBatch& batch) {
  std::shared_lock sealing(seal_gate_);
  std::lock_guard records(project.records_mu);
  std::vector<catalog::Catalog::LabelChange> changes;
  SENSORDB_RETURN_IF_ERROR(catalog_->PlanLabels(project, batch.label_sets(), {}, &changes));
  if (changes.empty()) return Status::Ok();
  auto wb = store_->NewBatch();
  SENSORDB_RETURN_IF_ERROR(catalog_->AddLabelRecords(project, changes, &wb));
  SENSORDB_RETURN_IF_ERROR(store_->Write(wb, /*sync=*/true));
  catalog_->ApplyLabels(project, changes);
  return Status::Ok();
}

Status DBImpl::SetDeviceLabels(std::string_view project, std::string_view device, int64_t from_ns,
                               std::span<const std::pair<std::string, std::string>> labels) {
  if (labels.empty()) return Status::InvalidArgument("no labels to set");
  if (from_ns < kMinTimestamp || from_ns > kMaxTimestamp) {
    return Status::InvalidArgument("label time " + std::to_string(from_ns) +
                                   " is outside the accepted timestamp range");
  }
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock write_lock(p->write_mu);
  if (p->dropped) return Status::NotFound("project '" + std::string(project) + "' does not exist");
  WriteBatch batch;
  batch.SetLabels(device, std::span(&from_ns, 1), labels);
  return WriteLabelsOnly(*p, batch);
}

Result<std::vector<DeviceLabels>> DBImpl::ListDeviceLabels(std::string_view project,
                                                           std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  auto out = catalog_->Labels(*p, device);
  if (!device.empty() && out.empty()) {
    return Err(Status::NotFound("device '" + std::string(device) + "' does not exist"));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::vector<std::string>>>> DBImpl::ListLabelValues(
    std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  return catalog_->LabelValues(*p);
}

Status DBImpl::RawByLabels(const catalog::ProjectMeta& p,
                           std::span<const catalog::SeriesMeta* const> series,
                           const Selector& selector, const TimeRange& range,
                           const RawCallback& callback) {
  SENSORDB_ASSIGN_OR_RETURN(auto plan, query::LabelPlan::Make(selector.labels, {}));
  auto labels = catalog_->LabelsOf(p, series);
  std::vector<query::LabelPlan::Piece> pieces;
  query::Querier q = NewQuerier(p);
  if (damage_) q.SkipDamagedBlocks(damage_);
  return q.RawPieces(
      series,
      [&](const catalog::SeriesMeta& s, std::vector<TimeRange>* out) {
        plan->Pieces(s.device, labels[s.device_id], range, &pieces);
        for (const auto& piece : pieces) {
          // Pieces of different groups may touch: one range for the raw reader.
          if (!out->empty() && out->back().end_ns == piece.range.start_ns) {
            out->back().end_ns = piece.range.end_ns;
          } else {
            out->push_back(piece.range);
          }
        }
      },
      callback);
}

Status DBImpl::AggregateByLabels(const catalog::ProjectMeta& p,
                                 std::span<const catalog::SeriesMeta* const> series,
                                 const AggregateQuery& query, const AggregateCallback& callback) {
  SENSORDB_ASSIGN_OR_RETURN(auto plan,
                            query::LabelPlan::Make(query.selector.labels, query.group_by));
  auto labels = catalog_->LabelsOf(p, series);
  const size_t max_buckets = options_.max_aggregate_buckets;
  const size_t threads =
      std::min<size_t>(options_.query_threads, series.size() / kLabelSeriesPerThread);
  if (!query.per_series && threads >= 2) {
    return AggregateByLabelsInLanes(p, series, query, *plan, labels, threads, callback);
  }
  // One aggregator per group; with per_series they are emitted and emptied after each series.
  std::vector<std::unique_ptr<query::Aggregator>> aggs;
  std::vector<uint32_t> used;  // groups the current series has points in (per_series)
  std::vector<query::LabelPlan::Piece> pieces;
  auto agg_of = [&](uint32_t g) {
    while (aggs.size() <= g) {
      aggs.push_back(
          std::make_unique<query::Aggregator>(query.range, query.bucket_ns, max_buckets));
    }
    return aggs[g].get();
  };
  auto emit = [&](std::vector<uint32_t>& ids, const SeriesRef* ref) {
    return EmitGroups(
        ids, *plan, [&](uint32_t g) -> query::Aggregator& { return *aggs[g]; }, ref, callback);
  };
  size_t held = 0;  // buckets held by the aggregators of a merged aggregate
  bool stopped = false;
  bool too_many_groups = false;  // more groups than max_buckets (each holds an aggregator)
  query::Querier q = NewQuerier(p);
  Status status = q.AggregatePieces(
      series,
      [&](const catalog::SeriesMeta& s, std::vector<query::Querier::Piece>* out) {
        plan->Pieces(s.device, labels[s.device_id], query.range, &pieces);
        if (max_buckets != 0 && plan->groups() > max_buckets) {
          too_many_groups = true;
          return;
        }
        for (const auto& piece : pieces) {
          out->push_back({piece.range, agg_of(piece.group)});
          used.push_back(piece.group);
        }
      },
      [&](const catalog::SeriesMeta& s) {
        if (too_many_groups) return false;
        if (!query.per_series) {
          held = 0;
          for (const auto& a : aggs) held += a->buckets();
          return max_buckets == 0 || held <= max_buckets;
        }
        const SeriesRef ref{s.id, s.device, s.channel, s.type};
        if (!emit(used, &ref)) stopped = true;
        used.clear();
        return !stopped;
      });
  SENSORDB_RETURN_IF_ERROR(status);
  if (too_many_groups || (max_buckets != 0 && held > max_buckets)) {
    return TooManyGroupBuckets(max_buckets);
  }
  if (query.per_series || stopped) return Status::Ok();
  std::vector<uint32_t> all(aggs.size());
  for (uint32_t g = 0; g < all.size(); ++g) all[g] = g;
  emit(all, nullptr);
  return Status::Ok();
}

// A merged label aggregate over many series on `threads` threads: every series' pieces are
// planned first (the plan numbers the groups), then each thread folds a share of the series
// into aggregators of its own, one per group, merged per group at the end.
Status DBImpl::AggregateByLabelsInLanes(
    const catalog::ProjectMeta& p, std::span<const catalog::SeriesMeta* const> series,
    const AggregateQuery& query, query::LabelPlan& plan,
    std::unordered_map<uint64_t, std::vector<LabelHistory>>& labels, size_t threads,
    const AggregateCallback& callback) {
  const size_t max_buckets = options_.max_aggregate_buckets;
  std::vector<std::vector<query::LabelPlan::Piece>> pieces(series.size());
  std::unordered_map<const catalog::SeriesMeta*, size_t> index;
  for (size_t i = 0; i < series.size(); ++i) {
    plan.Pieces(series[i]->device, labels[series[i]->device_id], query.range, &pieces[i]);
    index[series[i]] = i;
  }
  const size_t groups = plan.groups();
  auto too_many = [&] { return TooManyGroupBuckets(max_buckets); };
  if (max_buckets != 0 && groups > max_buckets) return too_many();
  // lanes[t][g]: thread t's aggregator of group g.
  std::vector<std::vector<query::Aggregator>> lanes(
      threads, std::vector<query::Aggregator>(
                   groups, query::Aggregator(query.range, query.bucket_ns, max_buckets)));
  std::vector<Status> results(threads);
  std::vector<std::thread> workers;
  const size_t share = (series.size() + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const size_t begin = std::min(series.size(), t * share);
      const size_t end = std::min(series.size(), begin + share);
      std::vector<query::Aggregator>& aggs = lanes[t];
      try {
        query::Querier q = NewQuerier(p);
        bool over = false;
        results[t] = q.AggregatePieces(
            series.subspan(begin, end - begin),
            [&](const catalog::SeriesMeta& s, std::vector<query::Querier::Piece>* out) {
              for (const auto& piece : pieces[index.at(&s)]) {
                out->push_back({piece.range, &aggs[piece.group]});
              }
            },
            [&](const catalog::SeriesMeta&) {
              size_t held = 0;
              for (const auto& a : aggs) held += a.buckets();
              over = max_buckets != 0 && held > max_buckets;
              return !over;
            });
        if (results[t].ok() && over) results[t] = too_many();
      } catch (const std::exception& e) {
        results[t] = Status::Internal(std::string("label aggregate: ") + e.what());
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const Status& s : results) SENSORDB_RETURN_IF_ERROR(s);
  // Merged first, then bounded as the one-thread path bounds all groups together.
  size_t held = 0;
  for (uint32_t g = 0; g < groups; ++g) {
    for (size_t t = 1; t < threads; ++t) lanes[0][g].MergeFrom(lanes[t][g]);
    if (lanes[0][g].overflowed()) return lanes[0][g].OverflowError();
    held += lanes[0][g].buckets();
  }
  if (max_buckets != 0 && held > max_buckets) return too_many();
  std::vector<uint32_t> all(groups);
  for (uint32_t g = 0; g < groups; ++g) all[g] = g;
  EmitGroups(
      all, plan, [&](uint32_t g) -> query::Aggregator& { return lanes[0][g]; }, nullptr, callback);
  return Status::Ok();
}

}  // namespace sensordb
