// Label histories of a device (docs/LABELS.md): per key, the values it took with the time from
// which each held. Pure functions on the public types (sensordb/types.h); the catalog holds the
// histories and guards them. Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sensordb/types.h"

namespace sensordb::catalog {

// The value of the history at `t`: empty before its first entry and after a removal.
std::string_view LabelAt(std::span<const LabelEntry> history, int64_t t);

// Makes `value` the history's value from `from_ns` up to its next change. Returns false, and
// changes nothing, when that is already the value at from_ns. Keeps the history canonical:
// ascending, no entry repeating its predecessor's value, no leading removal.
bool ApplyLabel(std::vector<LabelEntry>* history, int64_t from_ns, std::string_view value);

// The history of `key` in `labels` (sorted by key), or null.
const LabelHistory* FindLabel(std::span<const LabelHistory> labels, std::string_view key);
// The history of `key`, inserted empty in key order if missing.
LabelHistory& LabelSlot(std::vector<LabelHistory>* labels, std::string_view key);
// Entries over all keys.
size_t LabelEntries(std::span<const LabelHistory> labels);

}  // namespace sensordb::catalog
