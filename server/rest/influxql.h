// InfluxQL, the query language of InfluxDB 1.x, as far as sensordb answers it on `/query`
// (docs/INFLUXQL.md): a lexer and a parser of the statements into a small syntax tree. Pure
// functions over text, thread-safe, bounded: the text is at most kMaxQueryBytes and the parser
// recurses only on WHERE's parentheses, at most 8 deep. Errors read as InfluxDB's do ("error
// parsing query: found X, expected Y at line 1, char 6"); a statement that parses in InfluxDB but
// that sensordb does not answer is refused with NotSupported naming it.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sensordb/query.h"
#include "sensordb/status.h"

namespace sensordb::server::rest::influxql {

inline constexpr size_t kMaxQueryBytes = 64 * 1024;
inline constexpr size_t kMaxStatements = 32;
inline constexpr size_t kMaxSelectFields = 64;  // before `*` is expanded

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
  // WITH MEASUREMENT =~ /re/ (or !~), WITH KEY =~ /re/ (or !~): the pattern and whether a match
  // keeps (true) or drops (false) a name.
  std::optional<std::pair<std::string, bool>> measurement_pattern, key_pattern;
  uint64_t limit = 0;                      // 0: none
  uint64_t offset = 0;
};

// SELECT <fields> FROM <measurement> [WHERE ...] [GROUP BY ...] [fill(...)] [ORDER BY time
// [ASC|DESC]] [LIMIT n] [SLIMIT n]: the subset of docs/INFLUXQL.md.
struct SelectField {
  // count, sum, mean, min, max, first, last, spread, median, percentile; empty: the raw field
  std::string function;
  std::string field;      // a field key, or "*" (raw only)
  std::string alias;      // AS <alias>, or empty
  double percentile = 0;  // percentile(field, N): N in [0, 100]
};

struct SelectStatement {
  enum class Fill : uint8_t { kNull, kNone, kValue, kPrevious, kLinear };
  std::vector<SelectField> fields;
  std::string on;  // FROM "db"."rp"."m": the database, or empty (the request's db)
  std::string measurement;
  // WHERE on time, as a half-open range [start_ns, end_ns).
  int64_t start_ns = std::numeric_limits<int64_t>::min();
  int64_t end_ns = std::numeric_limits<int64_t>::max();
  std::optional<std::string> device;  // WHERE device = '...' (in the top-level AND)
  // The other tag conditions of WHERE (all must hold): =, !=, <>, =~, !~ on device and on
  // labels (docs/LABELS.md), combined with AND and OR.
  std::vector<LabelFilter> tags;
  int64_t interval_ns = 0;  // GROUP BY time(interval[, offset])
  int64_t offset_ns = 0;    // in [0, interval_ns): buckets start at offset + k * interval
  bool group_by_device = false;       // GROUP BY device (or *)
  std::vector<std::string> group_by;  // GROUP BY <label>, in the order given
  bool group_by_all = false;          // GROUP BY *: device and every label key
  Fill fill = Fill::kNull;
  double fill_value = 0;
  bool descending = false;
  uint64_t limit = 0;   // points per series; 0: none
  uint64_t slimit = 0;  // series; 0: none
  bool Aggregates() const { return !fields.empty() && !fields.front().function.empty(); }
};

using Statement = std::variant<ShowStatement, SelectStatement>;

// The statements of `q`, separated by semicolons (an empty statement between two is skipped).
// `now_ns` is the time of now() in WHERE.
Result<std::vector<Statement>> Parse(std::string_view q, int64_t now_ns = 0);

// Tag conditions alone, in WHERE's grammar (`site = 'north' AND (room =~ /^3/ OR line != 'a')`),
// all of which must hold: REST /api/v1's `where`. Time conditions are refused.
Result<std::vector<LabelFilter>> ParseTagConditions(std::string_view text);

// The statement's text as InfluxDB names it in an error ("SHOW TAG VALUES").
std::string_view KindName(ShowStatement::Kind kind);

}  // namespace sensordb::server::rest::influxql
