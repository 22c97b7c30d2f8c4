// DB::Salvage (docs/SALVAGE.md): the operator's way out of a database that refuses to open.
// The source is opened read-only in DBImpl's salvage mode, which reports damaged records and
// blocks instead of failing; what reads is copied through the public API into a new database.
#include <filesystem>

#include "db/db_impl.h"

namespace sensordb {
namespace {

constexpr size_t kPointsPerBatch = 1 << 16;

// Copies one series' points (already read) into `dst`, in batches.
Status CopySeries(DB& dst, const std::string& project, const ChannelInfo& c,
                  const std::vector<int64_t>& ts, const std::vector<Value>& values) {
  for (size_t begin = 0; begin < ts.size(); begin += kPointsPerBatch) {
    const size_t end = std::min(ts.size(), begin + kPointsPerBatch);
    const std::vector<int64_t> t(ts.begin() + begin, ts.begin() + end);
    WriteBatch b;
    if (c.type == ValueType::kFloat64) {
      std::vector<double> v;
      for (size_t i = begin; i < end; ++i) v.push_back(values[i].AsDouble());
      b.AddFloat64(c.device, c.name, t, v);
    } else if (c.type == ValueType::kInt64) {
      std::vector<int64_t> v;
      for (size_t i = begin; i < end; ++i) v.push_back(values[i].i64);
      b.AddInt64(c.device, c.name, t, v);
    } else {
      for (size_t i = begin; i < end; ++i) b.Add(c.device, c.name, ts[i], values[i]);
    }
    SENSORDB_RETURN_IF_ERROR(dst.Write(project, b));
  }
  return Status::Ok();
}

}  // namespace

Result<SalvageReport> DB::Salvage(const Options& options, std::string_view dir,
                                  const SalvageOptions& salvage) {
  SalvageReport report;
  auto sink = [&report](const Status& s) { report.damage.push_back(s.ToString()); };
  Options ro = options;
  ro.create_if_missing = false;
  ro.maintenance_interval_ms = 0;
  auto src = std::make_unique<DBImpl>(ro, std::string(dir));
  std::string log_dir = salvage.log_dir;
  if (log_dir.empty()) log_dir = std::filesystem::temp_directory_path().string();
  src->EnterSalvageMode(sink, log_dir);
  SENSORDB_RETURN_IF_ERROR(src->Init());

  std::unique_ptr<DB> dst;
  if (!salvage.export_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(salvage.export_dir, ec) &&
        !std::filesystem::is_empty(salvage.export_dir, ec)) {
      return Err(Status::AlreadyExists("export directory " + salvage.export_dir +
                                       " is not empty: salvage writes into a new directory"));
    }
    Options wo = options;
    wo.create_if_missing = true;
    wo.maintenance_interval_ms = 0;
    SENSORDB_ASSIGN_OR_RETURN(dst, DB::Open(wo, salvage.export_dir));
  }
  SENSORDB_ASSIGN_OR_RETURN(const auto projects, src->ListProjects());
  for (const ProjectInfo& p : projects) {
    ++report.projects;
    if (dst) {
      auto created = dst->CreateProject(p.name, {p.retention_days});
      SENSORDB_RETURN_IF_ERROR(created);
      SENSORDB_ASSIGN_OR_RETURN(const auto devices, src->ListDevices(p.name));
      for (const DeviceInfo& d : devices) SENSORDB_RETURN_IF_ERROR(dst->RegisterDevice(p.name, d));
      // Label histories, entry by entry in time order: the same rule rebuilds them.
      SENSORDB_ASSIGN_OR_RETURN(const auto labels, src->ListDeviceLabels(p.name, ""));
      for (const DeviceLabels& d : labels) {
        for (const LabelHistory& h : d.labels) {
          for (const LabelEntry& e : h.entries) {
            const std::pair<std::string, std::string> one[] = {{h.key, e.value}};
            SENSORDB_RETURN_IF_ERROR(dst->SetDeviceLabels(p.name, d.device, e.from_ns, one));
          }
        }
      }
    }
    SENSORDB_ASSIGN_OR_RETURN(const auto channels, src->ListChannels(p.name, ""));
    for (const ChannelInfo& c : channels) {
      std::vector<int64_t> ts;
      std::vector<Value> values;
      Status s = src->QueryRaw(p.name, {c.device, c.name}, {},
                               [&](const SeriesRef&, const PointRun& run) {
                                 for (size_t i = 0; i < run.size(); ++i) {
                                   ts.push_back(run.timestamps[i]);
                                   values.push_back(run.value(i));
                                 }
                                 return true;
                               });
      if (!s.ok()) {  // a read error of RocksDB itself: the series is left out, and named
        report.damage.push_back("series " + p.name + "/" + c.device + "/" + c.name +
                                " could not be read: " + s.ToString());
        continue;
      }
      ++report.series;
      report.points += ts.size();
      if (!dst) continue;
      auto registered = dst->RegisterChannel(p.name, c.device, c.name, c.type, c.unit);
      SENSORDB_RETURN_IF_ERROR(registered);
      if (!ts.empty()) SENSORDB_RETURN_IF_ERROR(CopySeries(*dst, p.name, c, ts, values));
    }
  }
  if (dst) SENSORDB_RETURN_IF_ERROR(dst->Flush());
  return report;
}

}  // namespace sensordb
