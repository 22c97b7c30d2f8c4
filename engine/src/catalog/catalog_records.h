// The catalog's records in the meta column family: each key's shape and each value's encoding,
// the decoder beside its encoder (engine/docs/format/catalog.md). The tag of a key is
// store::MetaTag, the one enum of the meta column family. Stateless functions, thread-safe.
// Decoders check everything they read: a malformed record is Corruption, never a guess.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"
#include "sensordb/types.h"
#include "store/keys.h"

namespace sensordb::catalog {

inline constexpr uint8_t kRecordVersion = 1;

// Where a record sits. Which fields a tag uses:
//   kCounters  -                                   (one key)
//   kProject   project
//   kDevice    project, id (the device)
//   kSeries    project, id (the device), record (later records of a device win at load)
//   kLabels    project, id (the device), record (replayed in record order at load)
struct RecordKey {
  store::MetaTag tag = store::MetaTag::kCounters;
  uint32_t project = 0;
  uint64_t id = 0;
  uint64_t record = 0;
};
std::string EncodeRecordKey(const RecordKey& k);
// Corruption when the key does not have the shape its tag requires.
Status DecodeRecordKey(std::string_view key, RecordKey* out);
// "tag P project 3" / "tag S project 3 id 17 record 40": where a record sits, for reports.
std::string DescribeKey(std::string_view key);

// 'N' (not sealed: it holds no name): the next project id and the next object id.
struct CountersRecord {
  uint64_t next_project = 0;
  uint64_t next_object = 0;
};
std::string EncodeCounters(const CountersRecord& r);
Status DecodeCounters(std::string_view in, CountersRecord* out);

// The sealed records below are views into the decoded buffer: it must outlive them.
struct ProjectRecord {
  std::string_view name;
  uint32_t retention_days = 0;
  int64_t max_span_ns = 0;
};
std::string EncodeProject(const ProjectRecord& r);
Status DecodeProject(std::string_view in, ProjectRecord* out);

struct DeviceRecord {
  std::string_view name, model, firmware_version;
};
std::string EncodeDevice(const DeviceRecord& r);
Status DecodeDevice(std::string_view in, DeviceRecord* out);

// One record lists channels of one device created (or updated) together: a batch that brings
// 10 new channels of a device costs one sealed record, not 10.
struct ChannelEntry {
  uint64_t series = 0;
  ValueType type = ValueType::kFloat64;
  std::string_view channel, unit;
};
std::string EncodeChannels(std::span<const ChannelEntry> channels);
Status DecodeChannels(std::string_view in, std::vector<ChannelEntry>* out);

// One record holds the label changes of one device made by one write (docs/LABELS.md).
struct LabelChangeEntry {
  std::string_view key;
  int64_t from_ns = 0;
  std::string_view value;  // empty: removed
};
std::string EncodeLabelChanges(std::span<const LabelChangeEntry> changes);
Status DecodeLabelChanges(std::string_view in, std::vector<LabelChangeEntry>* out);

}  // namespace sensordb::catalog
