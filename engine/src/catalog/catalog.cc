#include "catalog/catalog.h"

#include "catalog/catalog_records.h"

#include <algorithm>
#include <mutex>

#include "sensordb/coding.h"
#include "sensordb/names.h"
#include "store/keys.h"

namespace sensordb::catalog {

namespace {

// SeriesQuota::max_new_series_per_device_per_minute counts in windows of this length.
constexpr int64_t kQuotaWindowNs = 60'000'000'000;

using store::Cf;
using store::MetaKey;
using store::MetaTag;

ChannelEntry Entry(const SeriesMeta& s) { return {s.id, s.type, s.channel, s.unit}; }

ProjectRecord Record(const ProjectMeta& p) {
  return {p.name, p.retention_days.load(), p.max_span_ns.load()};
}

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::Load(
    store::Store& store, const crypto::Cipher& cipher, const std::function<bool(uint32_t)>& has_key,
    std::vector<uint32_t>* unreadable, const std::function<void(const Status&)>& on_damage) {
  std::unique_ptr<Catalog> c(new Catalog(store, cipher));
  auto it = store.NewIterator(Cf::kMeta);
  // Projects first: device and series records need their project.
  for (MetaTag tag : {MetaTag::kCounters, MetaTag::kProject, MetaTag::kDevice, MetaTag::kSeries,
                      MetaTag::kLabels}) {
    const std::string prefix = MetaKey(tag);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      RecordKey rk;
      if (tag == MetaTag::kProject && DecodeRecordKey(it->key(), &rk).ok() &&
          !has_key(rk.project)) {
        unreadable->push_back(rk.project);
        continue;
      }
      Status s = c->LoadRecord(it->key(), it->value());
      if (!s.ok() && on_damage) {  // salvage: report the record and go on
        on_damage(Status(s.code(), "catalog record " + DescribeKey(it->key()) + ": " +
                                       s.message()));
        continue;
      }
      SENSORDB_RETURN_IF_ERROR(s);
    }
    // Each range is checked before the next Seek, which would clear the error: a read error
    // must fail the load, never end a range early (an empty catalog looks like no projects).
    if (Status s = it->status(); !s.ok()) {
      const Status e(s.code(), "reading the catalog (records with tag '" + prefix + "'): " +
                                   s.message());
      if (!on_damage) return Err(e);
      on_damage(e);
    }
  }
  c->loading_devices_.clear();
  return c;
}

Status Catalog::LoadRecord(std::string_view key, std::string_view value) {
  RecordKey k;
  SENSORDB_RETURN_IF_ERROR(DecodeRecordKey(key, &k));
  if (k.tag == MetaTag::kCounters) {
    CountersRecord c;
    SENSORDB_RETURN_IF_ERROR(DecodeCounters(value, &c));
    next_project_id_ = std::max(next_project_id_.load(), uint32_t(c.next_project));
    next_object_id_ = std::max(next_object_id_.load(), c.next_object);
    return Status::Ok();
  }
  next_object_id_ = std::max(next_object_id_.load(), std::max(k.id, k.record) + 1);
  ProjectMeta* owner = nullptr;
  if (k.tag != MetaTag::kProject) {
    auto pit = by_id_.find(k.project);
    // A leftover of a dropped project: skipped before opening, as its data key may be gone.
    if (pit == by_id_.end()) return Status::Ok();
    owner = pit->second.get();
  }
  std::string plain;
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Open(k.project, crypto::RecordKind::kCatalog, key, value, &plain));
  if (k.tag == MetaTag::kProject) {
    ProjectRecord r;
    SENSORDB_RETURN_IF_ERROR(DecodeProject(plain, &r));
    auto p = std::make_shared<ProjectMeta>();
    p->id = k.project;
    p->name = r.name;
    p->retention_days = r.retention_days;
    p->max_span_ns = r.max_span_ns;
    by_name_[p->name] = p;
    by_id_[p->id] = p;
    next_project_id_ = std::max(next_project_id_.load(), p->id + 1);
    return Status::Ok();
  }
  ProjectMeta& p = *owner;
  if (k.tag == MetaTag::kDevice) {
    DeviceRecord r;
    SENSORDB_RETURN_IF_ERROR(DecodeDevice(plain, &r));
    auto d = std::make_unique<DeviceMeta>();
    d->id = k.id;
    d->info = {std::string(r.name), std::string(r.model), std::string(r.firmware_version)};
    d->durable = true;
    loading_devices_[d->id] = d.get();
    p.devices[d->info.name] = std::move(d);
    return Status::Ok();
  }
  // kSeries and kLabels: devices are all loaded (tag order); `k.id` is the device. Later
  // records (higher record ids, same key prefix) update earlier ones.
  auto dit = loading_devices_.find(k.id);
  DeviceMeta* dev = dit == loading_devices_.end() ? nullptr : dit->second;
  const char* what = k.tag == MetaTag::kLabels ? "labels" : "channels";
  if (!dev) {
    return Status::Corruption(std::string(what) + " of device " + std::to_string(k.id) +
                              " have no device");
  }
  if (k.tag == MetaTag::kLabels) {
    std::vector<LabelChangeEntry> changes;
    SENSORDB_RETURN_IF_ERROR(DecodeLabelChanges(plain, &changes));
    for (const LabelChangeEntry& c : changes) ApplyCounted(p, *dev, c.key, c.from_ns, c.value);
    std::erase_if(dev->labels, [](const LabelHistory& h) { return h.entries.empty(); });
    ++dev->label_records;
    return Status::Ok();
  }
  std::vector<ChannelEntry> channels;
  SENSORDB_RETURN_IF_ERROR(DecodeChannels(plain, &channels));
  for (const ChannelEntry& c : channels) {
    next_object_id_ = std::max(next_object_id_.load(), c.series + 1);
    auto& slot = p.series[c.series];
    if (!slot) slot = std::make_unique<SeriesMeta>();
    SeriesMeta& s = *slot;
    s.id = c.series;
    s.device_id = k.id;
    s.device = dev->info.name;
    s.channel = c.channel;
    s.unit = c.unit;
    s.type = c.type;
    s.durable = true;
    dev->channels[s.channel] = &s;
  }
  return Status::Ok();
}

Result<std::string> Catalog::Seal(uint32_t project, std::string_view key,
                                  std::string_view plain) const {
  std::string out;
  SENSORDB_RETURN_IF_ERROR(cipher_.Seal(project, crypto::RecordKind::kCatalog, key, plain, &out));
  return out;
}

void Catalog::PutCounters(store::Store::Batch* b) const {
  b->Put(Cf::kMeta, MetaKey(MetaTag::kCounters),
         EncodeCounters({next_project_id_.load(), next_object_id_.load()}));
}

Status Catalog::PutDevice(uint32_t project, const DeviceMeta& d, store::Store::Batch* b) const {
  const std::string key = MetaKey(MetaTag::kDevice, project, d.id);
  const DeviceRecord record{d.info.name, d.info.model, d.info.firmware_version};
  SENSORDB_ASSIGN_OR_RETURN(std::string sealed, Seal(project, key, EncodeDevice(record)));
  b->Put(Cf::kMeta, key, sealed);
  return Status::Ok();
}

Status Catalog::PutChannels(uint32_t project, uint64_t device_id,
                            std::span<const SeriesMeta* const> series,
                            store::Store::Batch* b) {
  // The record id: later records of a device win at load.
  const std::string key =
      EncodeRecordKey({MetaTag::kSeries, project, device_id, next_object_id_++});
  std::vector<ChannelEntry> entries;
  entries.reserve(series.size());
  for (const SeriesMeta* s : series) entries.push_back(Entry(*s));
  SENSORDB_ASSIGN_OR_RETURN(std::string sealed, Seal(project, key, EncodeChannels(entries)));
  b->Put(Cf::kMeta, key, sealed);
  return Status::Ok();
}

Result<ProjectInfo> Catalog::CreateProject(std::string_view name, const ProjectOptions& options,
                                           const std::function<Status(uint32_t)>& make_key) {
  SENSORDB_RETURN_IF_ERROR(ValidateProjectName(name));
  std::unique_lock lock(mu_);
  if (by_name_.count(name)) {
    return Err(Status::AlreadyExists("project '" + std::string(name) + "' already exists"));
  }
  auto p = std::make_shared<ProjectMeta>();
  p->id = next_project_id_++;
  p->name = name;
  p->retention_days = options.retention_days;
  SENSORDB_RETURN_IF_ERROR(make_key(p->id));
  auto batch = store_.NewBatch();
  const std::string key = MetaKey(MetaTag::kProject, p->id);
  SENSORDB_ASSIGN_OR_RETURN(std::string sealed, Seal(p->id, key, EncodeProject(Record(*p))));
  batch.Put(Cf::kMeta, key, sealed);
  PutCounters(&batch);
  SENSORDB_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  by_name_[p->name] = p;
  by_id_[p->id] = p;
  return p->Info();
}

Status Catalog::Reseal(const ProjectMeta& project) {
  // Every record of the project is opened and sealed again in place, under the newest key.
  // Writers that store records wait (records_mu, taken before mu_ as they do): a label
  // compaction's range deletion must not be undone by a re-put of what it deleted.
  std::lock_guard records(project.records_mu);
  std::unique_lock lock(mu_);
  auto batch = store_.NewBatch();
  auto it = store_.NewIterator(Cf::kMeta);
  std::string plain;
  for (auto tag : {MetaTag::kProject, MetaTag::kDevice, MetaTag::kSeries, MetaTag::kLabels}) {
    const std::string prefix = MetaKey(tag, project.id);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      plain.clear();
      SENSORDB_RETURN_IF_ERROR(
          cipher_.Open(project.id, crypto::RecordKind::kCatalog, it->key(), it->value(), &plain));
      SENSORDB_ASSIGN_OR_RETURN(std::string sealed, Seal(project.id, it->key(), plain));
      batch.Put(Cf::kMeta, it->key(), sealed);
    }
    SENSORDB_RETURN_IF_ERROR(it->status());  // before the next Seek clears it
  }
  return store_.Write(batch, /*sync=*/true);
}

std::vector<ProjectInfo> Catalog::ListProjects() const {
  std::shared_lock lock(mu_);
  std::vector<ProjectInfo> out;
  for (const auto& [name, p] : by_name_) out.push_back(p->Info());
  return out;
}

std::vector<std::shared_ptr<ProjectMeta>> Catalog::Projects() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<ProjectMeta>> out;
  for (const auto& [name, p] : by_name_) out.push_back(p);
  return out;
}

Result<std::shared_ptr<ProjectMeta>> Catalog::FindProject(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return Err(Status::NotFound("project '" + std::string(name) + "' does not exist"));
  }
  return it->second;
}

std::shared_ptr<ProjectMeta> Catalog::FindProject(uint32_t id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void Catalog::ForgetProject(const ProjectMeta& project) {
  std::unique_lock lock(mu_);
  by_name_.erase(project.name);
  by_id_.erase(project.id);
}

Status Catalog::WriteProjectRecord(const ProjectMeta& project) {
  auto batch = store_.NewBatch();
  const std::string key = MetaKey(MetaTag::kProject, project.id);
  SENSORDB_ASSIGN_OR_RETURN(std::string sealed,
                            Seal(project.id, key, EncodeProject(Record(project))));
  batch.Put(Cf::kMeta, key, sealed);
  return store_.Write(batch, /*sync=*/true);
}

Status Catalog::RaiseMaxSpan(ProjectMeta& project, int64_t span_ns) {
  if (span_ns <= project.max_span_ns.load()) return Status::Ok();
  std::unique_lock lock(mu_);  // orders this write with SetRetention's, which rewrites the record
  if (span_ns <= project.max_span_ns.load()) return Status::Ok();
  project.max_span_ns = span_ns;
  // On failure keep the raised span in memory: queries then seek a little further than needed,
  // which is safe; the block that needed it is not written (the caller fails too).
  return WriteProjectRecord(project);
}

Status Catalog::SetRetention(ProjectMeta& project, uint32_t days) {
  std::unique_lock lock(mu_);
  const uint32_t old = project.retention_days.exchange(days);
  Status s = WriteProjectRecord(project);
  if (!s.ok()) project.retention_days = old;
  return s;
}

DeviceMeta* Catalog::AddDevice(ProjectMeta& p, std::string_view name) {
  auto it = p.devices.find(name);
  if (it != p.devices.end()) return it->second.get();
  auto d = std::make_unique<DeviceMeta>();
  d->id = next_object_id_++;
  d->info.name = name;
  DeviceMeta* raw = d.get();
  p.devices.emplace(std::string(name), std::move(d));
  return raw;
}

Result<SeriesMeta*> Catalog::AddChannel(ProjectMeta& p, DeviceMeta& d, std::string_view channel,
                                        ValueType type, std::string_view unit) {
  auto it = d.channels.find(channel);
  if (it != d.channels.end()) {
    if (it->second->type != type) {
      return Err(Status::InvalidArgument(
          "channel " + d.info.name + "/" + std::string(channel) + " holds " +
          std::string(ValueTypeName(it->second->type)) + " values, not " +
          std::string(ValueTypeName(type))));
    }
    return it->second;
  }
  auto s = std::make_unique<SeriesMeta>();
  s->id = next_object_id_++;
  s->device_id = d.id;
  s->device = d.info.name;
  s->channel = channel;
  s->unit = unit;
  s->type = type;
  SeriesMeta* raw = s.get();
  d.channels.emplace(std::string(channel), raw);
  p.series.emplace(raw->id, std::move(s));
  return raw;
}

Status Catalog::RegisterDevice(ProjectMeta& project, const DeviceInfo& device) {
  SENSORDB_RETURN_IF_ERROR(ValidateObjectName("device", device.name));
  std::unique_lock lock(mu_);
  DeviceMeta* d = AddDevice(project, device.name);
  d->info = device;
  auto batch = store_.NewBatch();
  SENSORDB_RETURN_IF_ERROR(PutDevice(project.id, *d, &batch));
  PutCounters(&batch);
  SENSORDB_RETURN_IF_ERROR(store_.Write(batch, true));
  d->durable = true;
  return Status::Ok();
}

std::vector<DeviceInfo> Catalog::ListDevices(const ProjectMeta& project) const {
  std::shared_lock lock(mu_);
  std::vector<DeviceInfo> out;
  for (const auto& [name, d] : project.devices) {
    if (d->durable) out.push_back(d->info);
  }
  return out;
}

Result<ChannelInfo> Catalog::RegisterChannel(ProjectMeta& project, std::string_view device,
                                             std::string_view channel, ValueType type,
                                             std::string_view unit) {
  SENSORDB_RETURN_IF_ERROR(ValidateObjectName("device", device));
  SENSORDB_RETURN_IF_ERROR(ValidateObjectName("channel", channel));
  std::unique_lock lock(mu_);
  const std::pair<std::string_view, std::string_view> wanted[] = {{device, channel}};
  if (auto quota = CheckQuota(project, wanted, 0, false); !quota) return Err(quota.error());
  DeviceMeta* d = AddDevice(project, device);
  SENSORDB_ASSIGN_OR_RETURN(SeriesMeta * s, AddChannel(project, *d, channel, type, unit));
  s->unit = unit;
  auto batch = store_.NewBatch();
  SENSORDB_RETURN_IF_ERROR(PutDevice(project.id, *d, &batch));
  const SeriesMeta* one[] = {s};
  SENSORDB_RETURN_IF_ERROR(PutChannels(project.id, d->id, one, &batch));
  PutCounters(&batch);
  SENSORDB_RETURN_IF_ERROR(store_.Write(batch, true));
  d->durable = true;
  s->durable = true;
  return ChannelInfo{s->id, s->device, s->channel, s->unit, s->type};
}

std::vector<ChannelInfo> Catalog::ListChannels(const ProjectMeta& project,
                                               std::string_view device) const {
  const auto series = Select(project, {std::string(device), ""});
  std::shared_lock lock(mu_);  // units change under mu_ (RegisterChannel)
  std::vector<ChannelInfo> out;
  for (const SeriesMeta* s : series) out.push_back({s->id, s->device, s->channel, s->unit, s->type});
  return out;
}

Status Catalog::ResolveForWrite(ProjectMeta& project, std::span<const WriteBatch::Column> columns,
                                std::vector<SeriesMeta*>* out) {
  out->clear();
  out->reserve(columns.size());
  bool missing = false;
  {
    std::shared_lock lock(mu_);
    for (const auto& c : columns) {
      auto d = project.devices.find(c.device);
      SeriesMeta* s = nullptr;
      if (d != project.devices.end()) {
        auto ch = d->second->channels.find(c.channel);
        if (ch != d->second->channels.end()) s = ch->second;
      }
      if (s && s->type != c.type) {
        return Status::InvalidArgument("channel " + c.device + "/" + c.channel + " holds " +
                                       std::string(ValueTypeName(s->type)) + " values, not " +
                                       std::string(ValueTypeName(c.type)));
      }
      missing |= !s;
      out->push_back(s);
    }
  }
  if (missing) {
    // Check every new name and type first, so that a bad column creates nothing.
    std::map<std::pair<std::string_view, std::string_view>, ValueType> fresh;
    for (size_t i = 0; i < columns.size(); ++i) {
      if ((*out)[i]) continue;
      const auto& c = columns[i];
      SENSORDB_RETURN_IF_ERROR(ValidateObjectName("device", c.device));
      SENSORDB_RETURN_IF_ERROR(ValidateObjectName("channel", c.channel));
      // Key views must point into the column, not into a temporary pair of string copies.
      auto [it, inserted] = fresh.try_emplace({c.device, c.channel}, c.type);
      if (!inserted && it->second != c.type) {
        return Status::InvalidArgument("batch gives channel " + c.device + "/" + c.channel +
                                       " both " + std::string(ValueTypeName(it->second)) +
                                       " and " + std::string(ValueTypeName(c.type)) + " values");
      }
    }
    std::vector<std::pair<std::string_view, std::string_view>> wanted;
    wanted.reserve(fresh.size());
    for (const auto& entry : fresh) wanted.push_back(entry.first);
    const int64_t now_ns = clock_->NowMonotonicNs();
    std::unique_lock lock(mu_);
    SENSORDB_ASSIGN_OR_RETURN(NewSeries created, CheckQuota(project, wanted, now_ns, true));
    for (size_t i = 0; i < columns.size(); ++i) {
      if ((*out)[i]) continue;
      const auto& c = columns[i];
      DeviceMeta* d = AddDevice(project, c.device);
      SENSORDB_ASSIGN_OR_RETURN((*out)[i], AddChannel(project, *d, c.channel, c.type, ""));
    }
    ChargeRate(project, created, now_ns);
  }
  return Status::Ok();
}

Result<Catalog::NewSeries> Catalog::CheckQuota(
    const ProjectMeta& p, std::span<const std::pair<std::string_view, std::string_view>> wanted,
    int64_t now_ns, bool rate) {
  NewSeries fresh;
  size_t total = 0;
  for (const auto& [device, channel] : wanted) {
    auto d = p.devices.find(device);
    // Another writer may have created it since the caller looked.
    if (d != p.devices.end() && d->second->channels.contains(channel)) continue;
    ++fresh[device];
    ++total;
  }
  const SeriesQuota& q = quota_;
  if (q.max_series_per_project != 0 && p.series.size() + total > q.max_series_per_project) {
    refused_project_.fetch_add(1, std::memory_order_relaxed);
    return Err(Status::ResourceExhausted(
        "project '" + p.name + "' holds " + std::to_string(p.series.size()) + " series; " +
        std::to_string(total) + " new ones would pass its quota of " +
        std::to_string(q.max_series_per_project) +
        " (max_series_per_project): nothing was written"));
  }
  for (const auto& [device, n] : fresh) {
    auto d = p.devices.find(device);
    const DeviceMeta* dm = d == p.devices.end() ? nullptr : d->second.get();
    const size_t have = dm ? dm->channels.size() : 0;
    if (q.max_series_per_device != 0 && have + n > q.max_series_per_device) {
      refused_device_.fetch_add(1, std::memory_order_relaxed);
      return Err(Status::ResourceExhausted(
          "device '" + std::string(device) + "' of project '" + p.name + "' has " +
          std::to_string(have) + " channels; " + std::to_string(n) +
          " new ones would pass its quota of " + std::to_string(q.max_series_per_device) +
          " (max_series_per_device): nothing was written"));
    }
    const uint32_t limit = q.max_new_series_per_device_per_minute;
    if (!rate || limit == 0) continue;
    const bool in_window = dm && now_ns - dm->quota_window_start_ns < kQuotaWindowNs;
    const uint32_t recent = in_window ? dm->quota_window_created : 0;
    if (recent + n > limit) {
      refused_rate_.fetch_add(1, std::memory_order_relaxed);
      const int64_t wait_s =
          in_window ? (dm->quota_window_start_ns + kQuotaWindowNs - now_ns) / 1'000'000'000 + 1 : 60;
      return Err(Status::RateLimited(
          "device '" + std::string(device) + "' of project '" + p.name + "' created " +
          std::to_string(recent) + " series in the current minute; " + std::to_string(n) +
          " more would pass its quota of " + std::to_string(limit) +
          " new series per minute (max_new_series_per_device_per_minute): nothing was written, "
          "retry in " + std::to_string(wait_s) + " s"));
    }
  }
  return fresh;
}

void Catalog::ChargeRate(ProjectMeta& p, const NewSeries& fresh, int64_t now_ns) {
  for (const auto& [device, n] : fresh) {
    auto d = p.devices.find(device);
    if (d == p.devices.end()) continue;
    DeviceMeta& dm = *d->second;
    if (dm.quota_window_created == 0 || now_ns - dm.quota_window_start_ns >= kQuotaWindowNs) {
      dm.quota_window_start_ns = now_ns;
      dm.quota_window_created = 0;
    }
    dm.quota_window_created += n;
  }
}

Catalog::QuotaRefusals Catalog::quota_refusals() const {
  return {refused_project_.load(std::memory_order_relaxed),
          refused_device_.load(std::memory_order_relaxed),
          refused_rate_.load(std::memory_order_relaxed)};
}

bool Catalog::AnyFresh(std::span<SeriesMeta* const> series) {
  for (const SeriesMeta* s : series) {
    if (!s->durable.load(std::memory_order_acquire)) return true;
  }
  return false;
}

Status Catalog::AddFreshRecords(ProjectMeta& project, std::span<SeriesMeta* const> series,
                                store::Store::Batch* batch) {
  // One channel record per device for what is not on disk yet. The caller holds
  // project.records_mu until the batch is written and MarkDurable ran, so two writers never
  // both store a record of the same new channel (copies that nothing would ever remove).
  std::map<uint64_t, std::vector<const SeriesMeta*>> fresh_by_device;
  for (SeriesMeta* s : series) {
    if (!s->durable.load(std::memory_order_acquire)) fresh_by_device[s->device_id].push_back(s);
  }
  if (fresh_by_device.empty()) return Status::Ok();
  std::shared_lock lock(mu_);
  for (auto& [device_id, list] : fresh_by_device) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    auto d = project.devices.find(list.front()->device);
    if (d != project.devices.end() && !d->second->durable) {
      SENSORDB_RETURN_IF_ERROR(PutDevice(project.id, *d->second, batch));
    }
    SENSORDB_RETURN_IF_ERROR(PutChannels(project.id, device_id, list, batch));
  }
  PutCounters(batch);
  return Status::Ok();
}

void Catalog::MarkDurable(ProjectMeta& project, std::span<SeriesMeta* const> series) {
  for (SeriesMeta* s : series) {
    if (s->durable.load(std::memory_order_relaxed)) continue;
    std::shared_lock lock(mu_);
    auto d = project.devices.find(s->device);
    if (d != project.devices.end()) d->second->durable = true;
    s->durable.store(true, std::memory_order_release);
  }
}

std::vector<const SeriesMeta*> Catalog::Select(const ProjectMeta& project,
                                               const Selector& sel) const {
  std::shared_lock lock(mu_);
  std::vector<const SeriesMeta*> out;
  // Series whose first write is still in flight (or failed) are not visible yet.
  auto add_device = [&](const DeviceMeta& d) {
    if (sel.channel.empty()) {
      for (const auto& [name, s] : d.channels) {
        if (s->durable) out.push_back(s);
      }
    } else if (auto it = d.channels.find(sel.channel); it != d.channels.end()) {
      if (it->second->durable) out.push_back(it->second);
    }
  };
  if (!sel.device.empty()) {
    if (auto it = project.devices.find(sel.device); it != project.devices.end()) {
      add_device(*it->second);
    }
  } else {
    for (const auto& [name, d] : project.devices) add_device(*d);
  }
  return out;
}

const SeriesMeta* Catalog::FindSeries(const ProjectMeta& project, uint64_t id) const {
  std::shared_lock lock(mu_);
  auto it = project.series.find(id);
  return it == project.series.end() ? nullptr : it->second.get();
}

size_t Catalog::SeriesCount() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [id, p] : by_id_) n += p->series.size();
  return n;
}

}  // namespace sensordb::catalog

namespace sensordb::catalog {

namespace {

Status ValidateLabel(std::string_view key, std::string_view value) {
  SENSORDB_RETURN_IF_ERROR(ValidateObjectName("label key", key));
  if (key == "device" || key == "time" || key.starts_with('_')) {
    return Status::InvalidArgument("label key '" + std::string(key) +
                                   "' is reserved (device, time and keys starting with _)");
  }
  if (value.empty()) return Status::Ok();  // a removal
  return ValidateObjectName("value of label '" + std::string(key) + "'", value);
}

}  // namespace

Status Catalog::PlanLabels(const ProjectMeta& project, std::span<const WriteBatch::LabelSet> sets,
                           std::span<const WriteBatch::Column> columns,
                           std::vector<LabelChange>* out) const {
  out->clear();
  if (sets.empty()) return Status::Ok();
  std::shared_lock lock(mu_);
  // The common case first: a batch that repeats the labels its devices have. A device none of
  // whose sets differs from its history at their times is left alone (applying them would
  // change nothing); only the others are planned set by set below.
  std::set<std::string_view> differ;
  for (const WriteBatch::LabelSet& set : sets) {
    if (differ.contains(set.device)) continue;
    auto dit = project.devices.find(set.device);
    if (dit == project.devices.end()) {
      differ.insert(set.device);  // refused below, with the message
      continue;
    }
    const std::vector<LabelHistory>& labels = dit->second->labels;
    const bool same = std::all_of(set.labels.begin(), set.labels.end(), [&](const auto& kv) {
      const LabelHistory* h = FindLabel(labels, kv.first);
      return std::all_of(set.timestamps.begin(), set.timestamps.end(), [&](int64_t t) {
        return (h ? LabelAt(h->entries, t) : std::string_view()) == kv.second;
      });
    });
    if (!same) differ.insert(set.device);
  }
  if (differ.empty()) return Status::Ok();
  // Per device that differs, its (time, set) pairs in the order they apply.
  std::map<std::string_view, std::vector<std::pair<int64_t, uint32_t>>, std::less<>> by_device;
  for (uint32_t i = 0; i < sets.size(); ++i) {
    if (!differ.contains(sets[i].device)) continue;
    auto& pairs = by_device[sets[i].device];
    for (int64_t t : sets[i].timestamps) pairs.emplace_back(t, i);
  }
  const LabelLimits& lim = label_limits_;
  auto refuse = [this](std::string message) {
    refused_labels_.fetch_add(1, std::memory_order_relaxed);
    return Status::ResourceExhausted(std::move(message));
  };
  const auto in_batch = [&](std::string_view device) {
    return std::any_of(columns.begin(), columns.end(),
                       [&](const WriteBatch::Column& c) { return c.device == device; });
  };
  std::map<std::string_view, std::set<std::string_view>, std::less<>> new_values;  // by key
  for (auto& [name, pairs] : by_device) {
    auto dit = project.devices.find(name);
    if (dit == project.devices.end() || (!dit->second->durable && !in_batch(name))) {
      return Status::NotFound("labels of device '" + std::string(name) +
                              "', which does not exist (and has no points in the batch)");
    }
    DeviceMeta* dev = dit->second.get();
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<LabelHistory> scratch;  // the device's labels once a change is planned
    bool changed = false;
    size_t entries = 0;  // over scratch's histories, checked as they grow
    for (const auto& [ts, index] : pairs) {
      for (const auto& [key, value] : sets[index].labels) {
        const LabelHistory* h = FindLabel(changed ? scratch : dev->labels, key);
        if ((h ? LabelAt(h->entries, ts) : std::string_view()) == value) continue;
        SENSORDB_RETURN_IF_ERROR(ValidateLabel(key, value));
        if (!changed) {
          scratch = dev->labels, changed = true;
          entries = LabelEntries(scratch);
        }
        std::vector<LabelEntry>& history = LabelSlot(&scratch, key).entries;
        entries -= history.size();
        ApplyLabel(&history, ts, value);
        entries += history.size();
        if (entries > lim.max_changes_per_device) {
          return refuse("device '" + std::string(name) + "' would have more than " +
                        std::to_string(lim.max_changes_per_device) +
                        " label changes (label_limits.max_changes_per_device): a tag that "
                        "changes with every reading belongs in a field");
        }
        out->push_back({dev, key, ts, value});
        if (!value.empty()) {
          auto kit = project.label_values.find(key);
          if (kit == project.label_values.end() || !kit->second.contains(value)) {
            new_values[key].insert(value);
          }
        }
      }
    }
    if (!changed) continue;
    std::erase_if(scratch, [](const LabelHistory& h) { return h.entries.empty(); });
    if (scratch.size() > lim.max_keys_per_device) {
      return refuse("device '" + std::string(name) + "' would have " +
                    std::to_string(scratch.size()) + " label keys; the limit is " +
                    std::to_string(lim.max_keys_per_device) +
                    " (label_limits.max_keys_per_device)");
    }
  }
  size_t keys = project.label_values.size();
  for (const auto& [key, values] : new_values) {
    auto kit = project.label_values.find(key);
    if (kit == project.label_values.end()) ++keys;
    const size_t n = values.size() + (kit == project.label_values.end() ? 0 : kit->second.size());
    if (n > lim.max_values_per_key) {
      return refuse("label '" + std::string(key) + "' would have " + std::to_string(n) +
                    " distinct values in project '" + project.name + "'; the limit is " +
                    std::to_string(lim.max_values_per_key) + " (label_limits.max_values_per_key)");
    }
  }
  if (keys > lim.max_keys_per_project) {
    return refuse("project '" + project.name + "' would have " + std::to_string(keys) +
                  " label keys; the limit is " + std::to_string(lim.max_keys_per_project) +
                  " (label_limits.max_keys_per_project)");
  }
  return Status::Ok();
}

Status Catalog::AddLabelRecords(const ProjectMeta& project, std::span<const LabelChange> changes,
                                store::Store::Batch* batch) {
  if (changes.empty()) return Status::Ok();
  std::map<DeviceMeta*, std::vector<const LabelChange*>> by_device;
  for (const LabelChange& c : changes) by_device[c.device].push_back(&c);
  for (auto& [dev, list] : by_device) {
    const std::string key =
        EncodeRecordKey({MetaTag::kLabels, project.id, dev->id, next_object_id_++});
    std::vector<LabelChangeEntry> entries;
    std::vector<LabelHistory> after;  // a compaction's whole history, which `entries` views
    if (dev->label_records + 1 < kMaxLabelRecordsPerDevice) {
      for (const LabelChange* c : list) entries.push_back({c->key, c->from_ns, c->value});
      ++dev->label_records;
    } else {
      // One record holding the history after these changes, in key and time order (replayed
      // through ApplyLabel it builds the same history), replacing the device's older records.
      {
        std::shared_lock lock(mu_);
        after = dev->labels;
      }
      for (const LabelChange* c : list) {
        ApplyLabel(&LabelSlot(&after, c->key).entries, c->from_ns, c->value);
      }
      for (const LabelHistory& h : after) {
        for (const LabelEntry& e : h.entries) entries.push_back({h.key, e.from_ns, e.value});
      }
      const std::string first = store::MetaKey(MetaTag::kLabels, project.id, dev->id);
      batch->DeleteRange(Cf::kMeta, first, store::PrefixEnd(first));
      dev->label_records = 1;
      if (entries.empty()) {  // every label removed: no record at all
        dev->label_records = 0;
        continue;
      }
    }
    SENSORDB_ASSIGN_OR_RETURN(std::string sealed,
                              Seal(project.id, key, EncodeLabelChanges(entries)));
    batch->Put(Cf::kMeta, key, sealed);
  }
  PutCounters(batch);
  return Status::Ok();
}

void Catalog::ApplyCounted(ProjectMeta& p, DeviceMeta& d, std::string_view key, int64_t from_ns,
                           std::string_view value) {
  std::vector<LabelEntry>& h = LabelSlot(&d.labels, key).entries;
  auto& counts = p.label_values[std::string(key)];
  for (const LabelEntry& e : h) {
    if (auto it = counts.find(e.value); it != counts.end() && --it->second == 0) counts.erase(it);
  }
  ApplyLabel(&h, from_ns, value);
  for (const LabelEntry& e : h) {
    if (!e.value.empty()) ++counts[e.value];
  }
  if (counts.empty()) p.label_values.erase(std::string(key));
}

void Catalog::ApplyLabels(ProjectMeta& project, std::span<const LabelChange> changes) {
  std::unique_lock lock(mu_);
  for (const LabelChange& c : changes) ApplyCounted(project, *c.device, c.key, c.from_ns, c.value);
  for (const LabelChange& c : changes) {
    std::erase_if(c.device->labels, [](const LabelHistory& h) { return h.entries.empty(); });
  }
}

std::vector<DeviceLabels> Catalog::Labels(const ProjectMeta& project,
                                          std::string_view device) const {
  std::shared_lock lock(mu_);
  std::vector<DeviceLabels> out;
  for (const auto& [name, d] : project.devices) {
    if (!d->durable || (!device.empty() && name != device)) continue;
    out.push_back({name, d->labels});
  }
  return out;
}

std::unordered_map<uint64_t, std::vector<LabelHistory>> Catalog::LabelsOf(
    const ProjectMeta& project, std::span<const SeriesMeta* const> series) const {
  std::shared_lock lock(mu_);
  std::unordered_map<uint64_t, std::vector<LabelHistory>> out;
  for (const SeriesMeta* s : series) {
    if (out.contains(s->device_id)) continue;
    auto& slot = out[s->device_id];  // a device without labels gets an empty entry
    if (auto it = project.devices.find(s->device); it != project.devices.end()) {
      slot = it->second->labels;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> Catalog::LabelValues(
    const ProjectMeta& project) const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [key, values] : project.label_values) {
    auto& list = out.emplace_back(key, std::vector<std::string>()).second;
    for (const auto& [value, entries] : values) list.push_back(value);
  }
  return out;
}

}  // namespace sensordb::catalog
