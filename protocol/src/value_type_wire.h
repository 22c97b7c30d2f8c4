// The one mapping between the data model's ValueType and the schema's wire::ValueType, both
// ways, for every codec of the native protocol (admin channel records, query results, latest
// points). Thread-safe (pure functions).
#pragma once

#include <string_view>

#include "sensordb/protocol/messages.h"
#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::protocol {

wire::ValueType WireType(ValueType type);

// The engine's type of a wire type; InvalidArgument "<what>: unknown value type N; use Float64,
// Int64 or Bool" for anything else (a newer peer's type, or garbage).
Result<ValueType> EngineType(wire::ValueType type, std::string_view what);

}  // namespace sensordb::protocol
