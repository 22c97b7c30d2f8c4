#include "catalog/labels.h"

#include <algorithm>

namespace sensordb::catalog {

std::string_view LabelAt(std::span<const LabelEntry> history, int64_t t) {
  // The last entry with from_ns <= t.
  auto it = std::upper_bound(history.begin(), history.end(), t,
                             [](int64_t v, const LabelEntry& e) { return v < e.from_ns; });
  return it == history.begin() ? std::string_view() : std::string_view(std::prev(it)->value);
}

bool ApplyLabel(std::vector<LabelEntry>* history, int64_t from_ns, std::string_view value) {
  if (LabelAt(*history, from_ns) == value) return false;
  auto& h = *history;
  auto it = std::lower_bound(h.begin(), h.end(), from_ns,
                             [](const LabelEntry& e, int64_t v) { return e.from_ns < v; });
  if (it != h.end() && it->from_ns == from_ns) {
    it->value.assign(value);
  } else {
    it = h.insert(it, LabelEntry{from_ns, std::string(value)});
  }
  // The next entry may now repeat this one; this one may repeat its predecessor (or be a
  // leading removal) after an in-place change.
  if (auto next = std::next(it); next != h.end() && next->value == it->value) h.erase(next);
  const std::string_view before = it == h.begin() ? std::string_view() : std::prev(it)->value;
  if (it->value == before) h.erase(it);
  return true;
}

const LabelHistory* FindLabel(std::span<const LabelHistory> labels, std::string_view key) {
  auto it = std::lower_bound(labels.begin(), labels.end(), key,
                             [](const LabelHistory& l, std::string_view k) { return l.key < k; });
  return it != labels.end() && it->key == key ? &*it : nullptr;
}

LabelHistory& LabelSlot(std::vector<LabelHistory>* labels, std::string_view key) {
  auto it = std::lower_bound(labels->begin(), labels->end(), key,
                             [](const LabelHistory& l, std::string_view k) { return l.key < k; });
  if (it == labels->end() || it->key != key)
    it = labels->insert(it, LabelHistory{std::string(key), {}});
  return *it;
}

size_t LabelEntries(std::span<const LabelHistory> labels) {
  size_t n = 0;
  for (const LabelHistory& l : labels) n += l.entries.size();
  return n;
}

}  // namespace sensordb::catalog
