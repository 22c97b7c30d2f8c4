// LabelPlan: a query's label conditions and group keys (Selector::labels,
// AggregateQuery::group_by) turned into, per device, the stretches of time to read and the group
// each belongs to (docs/LABELS.md "Queries"). Made once per query. Not thread-safe (Pieces
// numbers the groups as it meets them).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/types.h"

namespace re2 {
class RE2;
}

namespace sensordb::query {

// Longest regular expression a query may give (RE2 compiles in time and memory linear in it),
// and all of a query's together.
inline constexpr size_t kMaxLabelPatternBytes = 1024;
inline constexpr size_t kMaxLabelPatternBytesPerQuery = 16 * 1024;
// Conditions (leaves and And/Or nodes) of one query, and the deepest nesting of And/Or
// (InfluxQL's 8 levels of parentheses make up to 2 x 8 + 2).
inline constexpr size_t kMaxLabelFilterNodes = 256;
inline constexpr size_t kMaxLabelFilterDepth = 32;
// Label keys one query may group by.
inline constexpr size_t kMaxGroupByKeys = 64;

class LabelPlan {
 public:
  // InvalidArgument for a pattern RE2 refuses or past the pattern bounds, an And/Or with fewer
  // than two operands, an empty key, more than kMaxLabelFilterNodes conditions or nesting deeper
  // than kMaxLabelFilterDepth, more than kMaxGroupByKeys keys to group by or one named twice.
  static Result<std::unique_ptr<LabelPlan>> Make(std::span<const LabelFilter> filters,
                                                 std::span<const std::string> group_by);
  ~LabelPlan();

  struct Piece {
    TimeRange range;
    uint32_t group = 0;  // index for group()
  };
  // The parts of `range` in which the device's labels match, ascending, each with the group of
  // its label values; adjacent parts of one group are one piece. Replaces *out.
  void Pieces(std::string_view device, std::span<const LabelHistory> labels, const TimeRange& range,
              std::vector<Piece>* out);
  // The values of the group-by keys of group `g`.
  const std::vector<std::string>& group(uint32_t g) const { return groups_[g]; }
  size_t groups() const { return groups_.size(); }

 private:
  struct Node {
    LabelFilter::Op op = LabelFilter::Op::kEq;
    std::string key, value;
    std::unique_ptr<re2::RE2> re;
    std::vector<Node> operands;
  };
  LabelPlan() = default;
  Status Compile(const LabelFilter& f, size_t depth, Node* out);
  static bool Eval(const Node& n, const std::function<std::string_view(std::string_view)>& at);
  static void Keys(const Node& n, std::vector<std::string>* out);

  size_t nodes_ = 0, pattern_bytes_ = 0;  // Compile's counts against the bounds
  std::vector<Node> filters_;
  std::vector<std::string> group_by_;
  std::vector<std::string> keys_;  // every key the filters and groups read, but `device`
  std::vector<std::vector<std::string>> groups_;
  std::map<std::vector<std::string>, uint32_t> group_ids_;
};

}  // namespace sensordb::query
