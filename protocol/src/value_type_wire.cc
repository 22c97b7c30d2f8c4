#include "value_type_wire.h"

#include <string>

namespace sensordb::protocol {

wire::ValueType WireType(ValueType type) {
  switch (type) {
    case ValueType::kFloat64:
      return wire::ValueType::Float64;
    case ValueType::kInt64:
      return wire::ValueType::Int64;
    case ValueType::kBool:
      return wire::ValueType::Bool;
  }
  return wire::ValueType::Unknown;
}

Result<ValueType> EngineType(wire::ValueType type, std::string_view what) {
  switch (type) {
    case wire::ValueType::Float64:
      return ValueType::kFloat64;
    case wire::ValueType::Int64:
      return ValueType::kInt64;
    case wire::ValueType::Bool:
      return ValueType::kBool;
    case wire::ValueType::Unknown:
      break;
  }
  return Err(Status::InvalidArgument(std::string(what) + ": unknown value type " +
                                     std::to_string(static_cast<unsigned>(type)) +
                                     "; use Float64, Int64 or Bool"));
}

}  // namespace sensordb::protocol
