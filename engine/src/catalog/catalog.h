// Catalog: projects, devices and channels (series), held in memory and persisted as sealed
// records in the meta column family (engine/docs/format/catalog.md). Names live only in sealed
// values; keys hold numeric ids. Thread-safe: a shared mutex guards the maps; ProjectMeta
// objects are shared_ptr-owned so a query keeps a dropped project's metadata alive until done.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/labels.h"
#include "crypto/cipher.h"
#include "sensordb/clock.h"
#include "sensordb/options.h"
#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"
#include "store/store.h"

namespace sensordb::catalog {

struct SeriesMeta {
  uint64_t id = 0;
  uint64_t device_id = 0;
  std::string device;
  std::string channel;
  std::string unit;
  ValueType type = ValueType::kFloat64;
  // False until the record is on disk; writes that use a non-durable series carry its record.
  std::atomic<bool> durable{false};
};

struct DeviceMeta {
  uint64_t id = 0;
  DeviceInfo info;
  std::atomic<bool> durable{false};
  std::map<std::string, SeriesMeta*, std::less<>> channels;  // by channel name
  // SeriesQuota::max_new_series_per_device_per_minute: the current window. Guarded by
  // Catalog::mu_.
  int64_t quota_window_start_ns = 0;
  uint32_t quota_window_created = 0;
  // Label histories by key (docs/LABELS.md). Guarded by Catalog::mu_.
  std::vector<LabelHistory> labels;
  // 'L' records stored for this device (a guess after a failed write: it only decides when
  // they are compacted into one). Guarded by the project's records_mu.
  uint32_t label_records = 0;
};

struct ProjectMeta {
  uint32_t id = 0;
  std::string name;
  std::atomic<uint32_t> retention_days{0};
  // Longest max_ts - min_ts of any block of the project: a range query seeks this far back.
  std::atomic<int64_t> max_span_ns{0};
  // Writers hold it shared for the whole write; DropProject holds it exclusively.
  std::shared_mutex write_mu;
  bool dropped = false;  // guarded by write_mu
  // Held by a writer that stores records of new devices, channels or label changes, from
  // choosing them to marking them durable (each new channel's record is stored once), and by
  // Catalog::Reseal (which must not put back label records a compaction just deleted).
  mutable std::mutex records_mu;

  // Guarded by Catalog::mu_.
  std::map<std::string, std::unique_ptr<DeviceMeta>, std::less<>> devices;  // by name
  std::unordered_map<uint64_t, std::unique_ptr<SeriesMeta>> series;         // by id
  // Every value each label key has in some device's history, with the number of history
  // entries that hold it (the value bound, ListLabelValues). Guarded by Catalog::mu_.
  std::map<std::string, std::map<std::string, uint32_t, std::less<>>, std::less<>> label_values;
  ProjectInfo Info() const { return {id, name, retention_days.load()}; }
};

class Catalog {
 public:
  // Loads every record. `store` and `cipher` must outlive the catalog. Projects for which
  // `has_key` is false (their data key was destroyed by a drop that did not finish) are not
  // loaded; their ids go to *unreadable for the caller to judge. A record or range that cannot
  // be read fails the load, unless `on_damage` is given (salvage): it is then reported there and
  // skipped.
  static Result<std::unique_ptr<Catalog>> Load(
      store::Store& store, const crypto::Cipher& cipher,
      const std::function<bool(uint32_t)>& has_key, std::vector<uint32_t>* unreadable,
      const std::function<void(const Status&)>& on_damage = {});

  // Creates the project; `make_key(id)` runs before anything is sealed with the new id.
  Result<ProjectInfo> CreateProject(std::string_view name, const ProjectOptions& options,
                                    const std::function<Status(uint32_t)>& make_key);
  // Re-seals every record of the project (after a data key rotation).
  Status Reseal(const ProjectMeta& project);
  std::vector<ProjectInfo> ListProjects() const;
  std::vector<std::shared_ptr<ProjectMeta>> Projects() const;
  // NotFound when there is no such project.
  Result<std::shared_ptr<ProjectMeta>> FindProject(std::string_view name) const;
  std::shared_ptr<ProjectMeta> FindProject(uint32_t id) const;
  // Forgets the project in memory; the caller deletes its data (and holds its write_mu).
  void ForgetProject(const ProjectMeta& project);
  Status SetRetention(ProjectMeta& project, uint32_t days);
  // Raises the project's max block span to `span_ns` (persisted, synchronously) if it is larger.
  // Called before a block with that span is written.
  Status RaiseMaxSpan(ProjectMeta& project, int64_t span_ns);

  Status RegisterDevice(ProjectMeta& project, const DeviceInfo& device);
  std::vector<DeviceInfo> ListDevices(const ProjectMeta& project) const;
  Result<ChannelInfo> RegisterChannel(ProjectMeta& project, std::string_view device,
                                      std::string_view channel, ValueType type,
                                      std::string_view unit);
  std::vector<ChannelInfo> ListChannels(const ProjectMeta& project, std::string_view device) const;

  // The bounds on new series (Options::series_quota); set before the first write.
  void set_quota(const SeriesQuota& quota) { quota_ = quota; }
  // Where the quota's windows read the time (Options::clock); set before the first write, and
  // must outlive the catalog.
  void set_clock(const Clock& clock) { clock_ = &clock; }
  // Batches refused by each bound since the catalog was loaded.
  struct QuotaRefusals {
    uint64_t project = 0, device = 0, rate = 0;
  };
  QuotaRefusals quota_refusals() const;

  // Maps each column of a batch to its series, creating missing devices and channels in memory
  // (invisible until durable). Fails, creating nothing, on a bad name, a type mismatch or a
  // batch that would pass the series quota (kResourceExhausted).
  Status ResolveForWrite(ProjectMeta& project, std::span<const WriteBatch::Column> columns,
                         std::vector<SeriesMeta*>* out);
  // True if any of `series` is not durable yet.
  static bool AnyFresh(std::span<SeriesMeta* const> series);
  // Adds to `batch` the records of the series (and devices) not durable yet. The caller holds
  // project.records_mu from before this call until the batch is written and MarkDurable ran.
  Status AddFreshRecords(ProjectMeta& project, std::span<SeriesMeta* const> series,
                         store::Store::Batch* batch);
  void MarkDurable(ProjectMeta& project, std::span<SeriesMeta* const> series);

  // --- Labels (docs/LABELS.md) ---
  void set_label_limits(const LabelLimits& limits) { label_limits_ = limits; }
  struct LabelChange {
    DeviceMeta* device = nullptr;
    std::string key;
    int64_t from_ns = 0;
    std::string value;  // empty: removed
  };
  // The changes that `sets` make to their devices' labels, in the order to apply them (per
  // device, by time; at equal times the later set wins). A device must be durable, or have a
  // column in `columns` (ResolveForWrite of the same batch made it, and AddFreshRecords stores
  // it with the labels). Checks names and LabelLimits (kResourceExhausted); empty when every
  // label already has those values.
  Status PlanLabels(const ProjectMeta& project, std::span<const WriteBatch::LabelSet> sets,
                    std::span<const WriteBatch::Column> columns,
                    std::vector<LabelChange>* out) const;
  // Adds one sealed record per device of `changes` to `batch`; a device that has
  // kMaxLabelRecordsPerDevice records gets its whole history as one record instead, its older
  // records deleted in the same batch. The caller holds project.records_mu from PlanLabels
  // until ApplyLabels, so that the plan stays true.
  static constexpr uint32_t kMaxLabelRecordsPerDevice = 64;
  Status AddLabelRecords(const ProjectMeta& project, std::span<const LabelChange> changes,
                         store::Store::Batch* batch);
  void ApplyLabels(ProjectMeta& project, std::span<const LabelChange> changes);
  // The label histories of every device of the project (or of one), by device name.
  std::vector<DeviceLabels> Labels(const ProjectMeta& project, std::string_view device) const;
  // Copies of the label histories of the devices of `series`, by device id.
  std::unordered_map<uint64_t, std::vector<LabelHistory>> LabelsOf(
      const ProjectMeta& project, std::span<const SeriesMeta* const> series) const;
  // Every label key of the project with every value some device's history holds, sorted.
  std::vector<std::pair<std::string, std::vector<std::string>>> LabelValues(
      const ProjectMeta& project) const;
  uint64_t label_refusals() const { return refused_labels_.load(); }

  // Series matching the selector, ordered by device then channel name.
  std::vector<const SeriesMeta*> Select(const ProjectMeta& project, const Selector& s) const;
  const SeriesMeta* FindSeries(const ProjectMeta& project, uint64_t id) const;
  size_t SeriesCount() const;
  // Highest object id handed out so far (series sequence numbers must stay above stored ones).
  uint64_t next_object_id() const { return next_object_id_.load(); }

 private:
  Catalog(store::Store& store, const crypto::Cipher& cipher) : store_(store), cipher_(cipher) {}
  Status LoadRecord(std::string_view key, std::string_view value);
  Result<std::string> Seal(uint32_t project, std::string_view key, std::string_view plain) const;
  Status PutDevice(uint32_t project, const DeviceMeta& d, store::Store::Batch* b) const;
  // Adds a record of these channels of one device to `b`, under a fresh record id.
  Status PutChannels(uint32_t project, uint64_t device_id,
                     std::span<const SeriesMeta* const> series, store::Store::Batch* b);
  void PutCounters(store::Store::Batch* b) const;
  // Seals and writes (synchronously) the project record. Caller holds mu_ exclusively.
  Status WriteProjectRecord(const ProjectMeta& project);
  // ApplyLabel on the device's history of `key`, keeping p.label_values' counts. Caller holds
  // mu_ exclusively (or loads).
  static void ApplyCounted(ProjectMeta& p, DeviceMeta& d, std::string_view key, int64_t from_ns,
                           std::string_view value);
  // Creates device/channel in memory; caller holds mu_ exclusively.
  DeviceMeta* AddDevice(ProjectMeta& p, std::string_view name);
  Result<SeriesMeta*> AddChannel(ProjectMeta& p, DeviceMeta& d, std::string_view channel,
                                 ValueType type, std::string_view unit);
  // New series per device of `wanted` (device, channel) pairs that do not exist yet, checked
  // against the quota (the rate bound only when `rate`). Caller holds mu_ exclusively.
  using NewSeries = std::map<std::string_view, uint32_t, std::less<>>;
  Result<NewSeries> CheckQuota(const ProjectMeta& p,
                               std::span<const std::pair<std::string_view, std::string_view>> wanted,
                               int64_t now_ns, bool rate);
  // Counts `fresh` in the rate windows of their devices. Caller holds mu_ exclusively.
  void ChargeRate(ProjectMeta& p, const NewSeries& fresh, int64_t now_ns);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<ProjectMeta>, std::less<>> by_name_;  // GUARDED_BY(mu_)
  std::unordered_map<uint32_t, std::shared_ptr<ProjectMeta>> by_id_;       // GUARDED_BY(mu_)
  std::atomic<uint32_t> next_project_id_{1};
  std::atomic<uint64_t> next_object_id_{1};
  SeriesQuota quota_;
  const Clock* clock_ = &Clock::System();
  std::atomic<uint64_t> refused_project_{0}, refused_device_{0}, refused_rate_{0};
  LabelLimits label_limits_;
  mutable std::atomic<uint64_t> refused_labels_{0};
  // Devices by id while Load runs (channel and label records name their device by id).
  std::unordered_map<uint64_t, DeviceMeta*> loading_devices_;
};

}  // namespace sensordb::catalog
