// InfluxQL, the query language of InfluxDB 1.x, as far as sensordb answers it on `/query`
// (docs/INFLUXQL.md): a lexer and a parser of the statements into a small syntax tree. Pure
// functions over text, thread-safe, bounded: the text is at most kMaxQueryBytes and the parser
// never recurses on it. Errors read as InfluxDB's do ("error parsing query: found X, expected Y
// at line 1, char 6"); a statement that parses in InfluxDB but that sensordb does not answer is
// refused with NotSupported naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::server::rest::influxql {

inline constexpr size_t kMaxQueryBytes = 64 * 1024;
inline constexpr size_t kMaxStatements = 32;

struct ShowStatement {
  enum class Kind : uint8_t {
    kDatabases,
    kMeasurements,
    kFieldKeys,
    kTagKeys,
    kTagValues,
    kSeries,
    kRetentionPolicies,
  };
  Kind kind = Kind::kDatabases;
  std::string on;                          // ON <database>, or empty
  std::optional<std::string> from;         // FROM <measurement>
  std::optional<std::string> measurement;  // SHOW MEASUREMENTS WITH MEASUREMENT = <name>
  std::vector<std::string> tag_keys;       // SHOW TAG VALUES WITH KEY = k | KEY IN (k, ...)
  uint64_t limit = 0;                      // 0: none
  uint64_t offset = 0;
};

using Statement = ShowStatement;

// The statements of `q`, separated by semicolons (an empty statement between two is skipped).
Result<std::vector<Statement>> Parse(std::string_view q);

// The statement's text as InfluxDB names it in an error ("SHOW TAG VALUES").
std::string_view KindName(ShowStatement::Kind kind);

}  // namespace sensordb::server::rest::influxql
