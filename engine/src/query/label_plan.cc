#include "query/label_plan.h"

#include <re2/re2.h>

#include <algorithm>

#include "catalog/labels.h"

namespace sensordb::query {

using Op = LabelFilter::Op;

LabelPlan::~LabelPlan() = default;

Status LabelPlan::Compile(const LabelFilter& f, size_t depth, Node* out) {
  if (depth > kMaxLabelFilterDepth) {
    return Status::InvalidArgument("label conditions are nested more than " +
                                   std::to_string(kMaxLabelFilterDepth) + " deep");
  }
  if (++nodes_ > kMaxLabelFilterNodes) {
    return Status::InvalidArgument("a query may hold at most " +
                                   std::to_string(kMaxLabelFilterNodes) + " label conditions");
  }
  out->op = f.op;
  if (f.op == Op::kAnd || f.op == Op::kOr) {
    if (f.operands.size() < 2) {
      return Status::InvalidArgument("a label condition's AND/OR needs two or more operands");
    }
    out->operands.resize(f.operands.size());
    for (size_t i = 0; i < f.operands.size(); ++i) {
      SENSORDB_RETURN_IF_ERROR(Compile(f.operands[i], depth + 1, &out->operands[i]));
    }
    return Status::Ok();
  }
  if (f.key.empty()) return Status::InvalidArgument("a label condition names no key");
  out->key = f.key;
  out->value = f.value;
  if (f.op == Op::kMatch || f.op == Op::kNoMatch) {
    pattern_bytes_ += f.value.size();
    if (f.value.size() > kMaxLabelPatternBytes) {
      return Status::InvalidArgument("the pattern for label '" + f.key + "' is longer than " +
                                     std::to_string(kMaxLabelPatternBytes) + " bytes");
    }
    if (pattern_bytes_ > kMaxLabelPatternBytesPerQuery) {
      return Status::InvalidArgument("the patterns of a query may hold at most " +
                                     std::to_string(kMaxLabelPatternBytesPerQuery) + " bytes");
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    out->re = std::make_unique<RE2>(f.value, options);
    if (!out->re->ok()) {
      return Status::InvalidArgument("the pattern for label '" + f.key +
                                     "' is not a valid regular expression: " + out->re->error());
    }
  }
  return Status::Ok();
}

void LabelPlan::Keys(const Node& n, std::vector<std::string>* out) {
  if (n.op == Op::kAnd || n.op == Op::kOr) {
    for (const Node& o : n.operands) Keys(o, out);
  } else if (n.key != "device") {
    out->push_back(n.key);
  }
}

Result<std::unique_ptr<LabelPlan>> LabelPlan::Make(std::span<const LabelFilter> filters,
                                                   std::span<const std::string> group_by) {
  std::unique_ptr<LabelPlan> plan(new LabelPlan());
  plan->filters_.resize(filters.size());
  for (size_t i = 0; i < filters.size(); ++i) {
    SENSORDB_RETURN_IF_ERROR(plan->Compile(filters[i], 0, &plan->filters_[i]));
    Keys(plan->filters_[i], &plan->keys_);
  }
  if (group_by.size() > kMaxGroupByKeys) {
    return Err(Status::InvalidArgument("a query may group by at most " +
                                       std::to_string(kMaxGroupByKeys) + " label keys"));
  }
  for (const std::string& k : group_by) {
    if (k.empty()) return Err(Status::InvalidArgument("an empty label key to group by"));
    if (std::count(group_by.begin(), group_by.end(), k) > 1) {
      return Err(Status::InvalidArgument("the label key '" + k + "' is named twice to group by"));
    }
    plan->group_by_.push_back(k);
    if (k != "device") plan->keys_.push_back(k);
  }
  std::sort(plan->keys_.begin(), plan->keys_.end());
  plan->keys_.erase(std::unique(plan->keys_.begin(), plan->keys_.end()), plan->keys_.end());
  return plan;
}

bool LabelPlan::Eval(const Node& n, const std::function<std::string_view(std::string_view)>& at) {
  switch (n.op) {
    case Op::kAnd:
      return std::all_of(n.operands.begin(), n.operands.end(),
                         [&](const Node& o) { return Eval(o, at); });
    case Op::kOr:
      return std::any_of(n.operands.begin(), n.operands.end(),
                         [&](const Node& o) { return Eval(o, at); });
    case Op::kEq:
      return at(n.key) == n.value;
    case Op::kNe:
      return at(n.key) != n.value;
    case Op::kMatch:
      return RE2::PartialMatch(at(n.key), *n.re);
    case Op::kNoMatch:
      return !RE2::PartialMatch(at(n.key), *n.re);
  }
  return false;
}

void LabelPlan::Pieces(std::string_view device, std::span<const LabelHistory> labels,
                       const TimeRange& range, std::vector<Piece>* out) {
  out->clear();
  // The times inside the range at which a key the plan reads changes value.
  std::vector<const LabelHistory*> read;
  std::vector<int64_t> cuts{range.start_ns};
  for (const std::string& key : keys_) {
    const LabelHistory* h = catalog::FindLabel(labels, key);
    if (h == nullptr) continue;
    read.push_back(h);
    for (const LabelEntry& e : h->entries) {
      if (e.from_ns > range.start_ns && e.from_ns < range.end_ns) cuts.push_back(e.from_ns);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<std::string> values(group_by_.size());
  for (size_t i = 0; i < cuts.size(); ++i) {
    const int64_t t = cuts[i];
    const int64_t end = i + 1 < cuts.size() ? cuts[i + 1] : range.end_ns;
    auto at = [&](std::string_view key) -> std::string_view {
      if (key == "device") return device;
      for (const LabelHistory* h : read) {
        if (h->key == key) return catalog::LabelAt(h->entries, t);
      }
      return {};
    };
    if (!std::all_of(filters_.begin(), filters_.end(),
                     [&](const Node& n) { return Eval(n, at); })) {
      continue;
    }
    for (size_t g = 0; g < group_by_.size(); ++g) values[g].assign(at(group_by_[g]));
    auto [it, fresh] = group_ids_.try_emplace(values, uint32_t(groups_.size()));
    if (fresh) groups_.push_back(values);
    const uint32_t group = it->second;
    if (!out->empty() && out->back().group == group && out->back().range.end_ns == t) {
      out->back().range.end_ns = end;
    } else {
      out->push_back({{t, end}, group});
    }
  }
}

}  // namespace sensordb::query
