#include "catalog/catalog_records.h"

#include "sensordb/coding.h"

namespace sensordb::catalog {
namespace {

using store::MetaTag;

// Checks and strips the version byte of a sealed record.
Status Version(std::string_view* in, std::string_view what) {
  if (in->empty() || uint8_t((*in)[0]) != kRecordVersion) {
    return Status::Corruption(std::string(what) + " record has an unknown version");
  }
  in->remove_prefix(1);
  return Status::Ok();
}

Status Malformed(std::string_view what) {
  return Status::Corruption(std::string(what) + " record is malformed");
}

}  // namespace

std::string EncodeRecordKey(const RecordKey& k) {
  std::string out(1, char(k.tag));
  if (k.tag == MetaTag::kCounters) return out;
  PutFixed32BE(&out, k.project);
  if (k.tag == MetaTag::kProject) return out;
  PutFixed64BE(&out, k.id);
  if (k.tag == MetaTag::kSeries || k.tag == MetaTag::kLabels) PutFixed64BE(&out, k.record);
  return out;
}

Status DecodeRecordKey(std::string_view key, RecordKey* out) {
  *out = {};
  const Status bad = Status::Corruption("catalog key is malformed");
  if (key.empty()) return bad;
  out->tag = MetaTag(key[0]);
  key.remove_prefix(1);
  switch (out->tag) {
    case MetaTag::kCounters:
      break;
    case MetaTag::kProject:
      if (!GetFixed32BE(&key, &out->project)) return bad;
      break;
    case MetaTag::kDevice:
      if (!GetFixed32BE(&key, &out->project) || !GetFixed64BE(&key, &out->id)) return bad;
      break;
    case MetaTag::kSeries:
    case MetaTag::kLabels:
      if (!GetFixed32BE(&key, &out->project) || !GetFixed64BE(&key, &out->id) ||
          !GetFixed64BE(&key, &out->record)) {
        return bad;
      }
      break;
    default:
      return Status::Corruption("catalog key has an unknown tag");
  }
  return key.empty() ? Status::Ok() : bad;
}

std::string DescribeKey(std::string_view key) {
  if (key.empty()) return "an empty key";
  std::string out = "tag " + std::string(1, key[0]);
  key.remove_prefix(1);
  uint32_t pid;
  uint64_t id, record;
  if (GetFixed32BE(&key, &pid)) out += " project " + std::to_string(pid);
  if (GetFixed64BE(&key, &id)) out += " id " + std::to_string(id);
  if (GetFixed64BE(&key, &record)) out += " record " + std::to_string(record);
  return out;
}

std::string EncodeCounters(const CountersRecord& r) {
  std::string v;
  PutVarint64(&v, r.next_project);
  PutVarint64(&v, r.next_object);
  return v;
}

Status DecodeCounters(std::string_view in, CountersRecord* out) {
  if (!GetVarint64(&in, &out->next_project) || !GetVarint64(&in, &out->next_object) ||
      !in.empty() || out->next_project > UINT32_MAX) {
    return Status::Corruption("catalog counters are malformed");
  }
  return Status::Ok();
}

std::string EncodeProject(const ProjectRecord& r) {
  std::string v(1, char(kRecordVersion));
  PutLengthPrefixed(&v, r.name);
  PutVarint64(&v, r.retention_days);
  PutVarint64(&v, uint64_t(r.max_span_ns));
  return v;
}

Status DecodeProject(std::string_view in, ProjectRecord* out) {
  SENSORDB_RETURN_IF_ERROR(Version(&in, "project"));
  uint64_t days, span;
  if (!GetLengthPrefixed(&in, &out->name) || !GetVarint64(&in, &days) || !GetVarint64(&in, &span) ||
      days > UINT32_MAX || !in.empty()) {
    return Malformed("project");
  }
  out->retention_days = uint32_t(days);
  out->max_span_ns = int64_t(span);
  return Status::Ok();
}

std::string EncodeDevice(const DeviceRecord& r) {
  std::string v(1, char(kRecordVersion));
  PutLengthPrefixed(&v, r.name);
  PutLengthPrefixed(&v, r.model);
  PutLengthPrefixed(&v, r.firmware_version);
  return v;
}

Status DecodeDevice(std::string_view in, DeviceRecord* out) {
  SENSORDB_RETURN_IF_ERROR(Version(&in, "device"));
  if (!GetLengthPrefixed(&in, &out->name) || !GetLengthPrefixed(&in, &out->model) ||
      !GetLengthPrefixed(&in, &out->firmware_version) || !in.empty()) {
    return Malformed("device");
  }
  return Status::Ok();
}

std::string EncodeChannels(std::span<const ChannelEntry> channels) {
  std::string v(1, char(kRecordVersion));
  PutVarint64(&v, channels.size());
  for (const ChannelEntry& c : channels) {
    PutVarint64(&v, c.series);
    v.push_back(char(c.type));
    PutLengthPrefixed(&v, c.channel);
    PutLengthPrefixed(&v, c.unit);
  }
  return v;
}

Status DecodeChannels(std::string_view in, std::vector<ChannelEntry>* out) {
  out->clear();
  SENSORDB_RETURN_IF_ERROR(Version(&in, "channels"));
  uint64_t count;
  if (!GetVarint64(&in, &count) || count > in.size()) return Malformed("channels");
  out->resize(count);
  for (ChannelEntry& c : *out) {
    if (!GetVarint64(&in, &c.series) || in.empty()) return Malformed("channels");
    const uint8_t type = uint8_t(in[0]);
    in.remove_prefix(1);
    if (type < 1 || type > 3 || !GetLengthPrefixed(&in, &c.channel) ||
        !GetLengthPrefixed(&in, &c.unit)) {
      return Malformed("channels");
    }
    c.type = ValueType(type);
  }
  return in.empty() ? Status::Ok() : Malformed("channels");
}

std::string EncodeLabelChanges(std::span<const LabelChangeEntry> changes) {
  std::string v(1, char(kRecordVersion));
  PutVarint64(&v, changes.size());
  for (const LabelChangeEntry& c : changes) {
    PutLengthPrefixed(&v, c.key);
    PutFixed64BE(&v, OrderedFromSigned(c.from_ns));
    PutLengthPrefixed(&v, c.value);
  }
  return v;
}

Status DecodeLabelChanges(std::string_view in, std::vector<LabelChangeEntry>* out) {
  out->clear();
  SENSORDB_RETURN_IF_ERROR(Version(&in, "labels"));
  uint64_t count;
  if (!GetVarint64(&in, &count) || count == 0 || count > in.size()) return Malformed("labels");
  out->resize(count);
  for (LabelChangeEntry& c : *out) {
    uint64_t from;
    if (!GetLengthPrefixed(&in, &c.key) || c.key.empty() || !GetFixed64BE(&in, &from) ||
        !GetLengthPrefixed(&in, &c.value)) {
      return Malformed("labels");
    }
    c.from_ns = SignedFromOrdered(from);
  }
  return in.empty() ? Status::Ok() : Malformed("labels");
}

}  // namespace sensordb::catalog
