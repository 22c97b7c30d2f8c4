#include "head/head.h"

#include <algorithm>

#include "block/block.h"

namespace sensordb::head {
namespace {

// Appends `run` to `tail` (same type).
void AppendRun(const PointRun& run, block::PointColumn* tail) {
  tail->ts.insert(tail->ts.end(), run.timestamps.begin(), run.timestamps.end());
  switch (run.type) {
    case ValueType::kFloat64: tail->f64.insert(tail->f64.end(), run.f64.begin(), run.f64.end()); break;
    case ValueType::kInt64: tail->i64.insert(tail->i64.end(), run.i64.begin(), run.i64.end()); break;
    case ValueType::kBool: tail->b.insert(tail->b.end(), run.b.begin(), run.b.end()); break;
  }
}

void EraseFront(block::PointColumn* c, size_t n) {
  c->ts.erase(c->ts.begin(), c->ts.begin() + n);
  switch (c->type) {
    case ValueType::kFloat64: c->f64.erase(c->f64.begin(), c->f64.begin() + n); break;
    case ValueType::kInt64: c->i64.erase(c->i64.begin(), c->i64.begin() + n); break;
    case ValueType::kBool: c->b.erase(c->b.begin(), c->b.begin() + n); break;
  }
}

// Gives the chunk's memory back: many series each holding a few idle kilobytes are what the
// head's memory bound (Options::head_memory_bytes) is about.
void ResetChunk(MemSeries* s) {
  std::string().swap(s->vectors);
  s->encoded_points = 0;
  s->tail = block::PointColumn{};
  s->tail.type = s->type;
  s->sorted = true;
  s->summary = block::Summary();
  s->summary.type = s->type;
  s->min_seq = s->max_seq = 0;
}

}  // namespace

size_t MemSeries::chunk_bytes() const {
  // An empty string's capacity is its inline buffer, not heap.
  const size_t heap = vectors.capacity() > std::string().capacity() ? vectors.capacity() : 0;
  return heap + tail.ts.capacity() * sizeof(int64_t) + tail.f64.capacity() * sizeof(double) +
         tail.i64.capacity() * sizeof(int64_t) + tail.b.capacity();
}

Status HeadCopy::Decode(block::PointColumn* out) const {
  out->clear();
  out->type = type;
  SENSORDB_RETURN_IF_ERROR(block::DecodeVectors(vectors, out));
  out->Append(tail, 0, tail.size());
  if (!sorted) out->SortAndDedup();
  return Status::Ok();
}

void Head::SetState(uint32_t project, uint64_t series, ValueType type, uint64_t sealed_seq) {
  Shard& sh = ShardOf(series);
  std::lock_guard lock(sh.mu);
  auto& s = sh.series[series];
  if (!s) {
    s = std::make_unique<MemSeries>();
    s->project = project;
    s->id = series;
    s->type = type;
    s->tail.type = type;
    s->summary.type = type;
  }
  s->sealed_seq = std::max(s->sealed_seq, sealed_seq);
}

void Head::Append(uint32_t project, uint64_t series, uint64_t seq, const PointRun& run) {
  Shard& sh = ShardOf(series);
  std::lock_guard lock(sh.mu);
  auto& s = sh.series[series];
  if (!s) {
    s = std::make_unique<MemSeries>();
    s->project = project;
    s->id = series;
    s->type = run.type;
    s->tail.type = run.type;
    s->summary.type = run.type;
  }
  if (seq <= s->sealed_seq || run.size() == 0) return;
  if (s->empty()) {
    s->min_seq = seq;
    s->opened_unix_ns = clock_.NowUnixNs();
  }
  s->max_seq = seq;
  if (s->sorted) AddToSummary(run, s.get());
  AppendRun(run, &s->tail);
}

void Head::AddToSummary(const PointRun& run, MemSeries* s) {
  for (size_t i = 0; i < run.size(); ++i) {
    const int64_t t = run.timestamps[i];
    if (s->summary.count > 0 && t <= s->summary.max_ts) {
      s->sorted = false;
      return;
    }
    switch (run.type) {
      case ValueType::kFloat64: s->summary.Add(t, run.f64[i]); break;
      case ValueType::kInt64: s->summary.Add(t, double(run.i64[i])); break;
      case ValueType::kBool: s->summary.Add(t, run.b[i]); break;
    }
  }
}

std::vector<uint64_t> Head::EncodeTails(std::span<const uint64_t> series) {
  std::vector<uint64_t> full;
  for (uint64_t id : series) {
    Shard& sh = ShardOf(id);
    std::lock_guard lock(sh.mu);
    auto it = sh.series.find(id);
    if (it == sh.series.end()) continue;
    MemSeries& s = *it->second;
    if (s.tail.size() >= kVectorPoints) {
      const size_t whole = s.tail.size() / kVectorPoints * kVectorPoints;
      block::AppendVectors(s.tail.Run(0, whole), kVectorPoints, &s.vectors);
      s.encoded_points += whole;
      EraseFront(&s.tail, whole);
    }
    if (s.points() >= chunk_max_points_) full.push_back(id);
  }
  return full;
}

HeadCopy Head::Copy(uint64_t series) const {
  HeadCopy c;
  const Shard& sh = ShardOf(series);
  std::lock_guard lock(sh.mu);
  auto it = sh.series.find(series);
  if (it == sh.series.end()) return c;
  const MemSeries& s = *it->second;
  c.found = true;
  c.type = s.type;
  if (s.empty()) return c;
  c.min_seq = s.min_seq;
  c.vectors = s.vectors;
  c.tail = s.tail;
  c.sorted = s.sorted;
  c.summary = s.summary;
  return c;
}

CutChunk Head::Cut(const MemSeries& s) {
  CutChunk c;
  c.project = s.project;
  c.series = s.id;
  c.block_seq = s.max_seq;
  if (s.sorted) {
    c.summary = s.summary;
    c.body = s.vectors;
    block::AppendVectors(s.tail.Run(), kVectorPoints, &c.body);  // the tail may be long
  } else {
    // Late or duplicate points: sort, keep the last write of each timestamp, re-encode.
    HeadCopy copy;
    copy.type = s.type;
    copy.vectors = s.vectors;
    copy.tail = s.tail;
    copy.sorted = false;
    block::PointColumn all;
    if (!copy.Decode(&all).ok()) all.clear();  // the head's own encoding; cannot fail
    c.summary = block::Summary::Of(all);
    block::AppendVectors(all.Run(), kVectorPoints, &c.body);
  }
  return c;
}

Status Head::Seal(const DueFn& due, const PersistFn& persist, const std::vector<uint64_t>& only) {
  std::vector<CutChunk> cut;
  std::vector<MemSeries*> members;
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    cut.clear();
    members.clear();
    auto consider = [&](MemSeries& s) {
      if (!s.empty() && due(s)) {
        cut.push_back(Cut(s));
        members.push_back(&s);
      }
    };
    if (only.empty()) {
      for (auto& [id, s] : sh.series) consider(*s);
    } else {
      for (uint64_t id : only) {
        if (&ShardOf(id) != &sh) continue;
        if (auto it = sh.series.find(id); it != sh.series.end()) consider(*it->second);
      }
    }
    if (cut.empty()) continue;
    SENSORDB_RETURN_IF_ERROR(persist(cut));
    for (size_t i = 0; i < members.size(); ++i) {
      members[i]->sealed_seq = cut[i].block_seq;
      ResetChunk(members[i]);
    }
  }
  return Status::Ok();
}

std::map<uint32_t, uint64_t> Head::MinOpenSeq() const {
  std::map<uint32_t, uint64_t> out;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, s] : sh.series) {
      if (s->empty()) continue;
      auto [it, inserted] = out.emplace(s->project, s->min_seq);
      if (!inserted) it->second = std::min(it->second, s->min_seq);
    }
  }
  return out;
}

void Head::DropProject(uint32_t project) {
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    std::erase_if(sh.series, [&](const auto& kv) { return kv.second->project == project; });
  }
}

Status Head::ForEachInProject(uint32_t project,
                              const std::function<Status(const MemSeries&)>& fn) {
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, s] : sh.series) {
      if (s->project == project) SENSORDB_RETURN_IF_ERROR(fn(*s));
    }
  }
  return Status::Ok();
}

uint64_t Head::Points() const {
  uint64_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, s] : sh.series) n += s->points();
  }
  return n;
}

size_t Head::ChunkBytes() const {
  size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, s] : sh.series) n += s->chunk_bytes();
  }
  return n;
}

std::vector<uint64_t> Head::LargestChunks(size_t bytes) const {
  std::vector<std::pair<size_t, uint64_t>> sizes;  // (bytes, series) of non-empty chunks
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, s] : sh.series) {
      if (!s->empty()) sizes.emplace_back(s->chunk_bytes(), id);
    }
  }
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  std::vector<uint64_t> out;
  size_t taken = 0;
  for (const auto& [size, id] : sizes) {
    if (taken >= bytes) break;
    out.push_back(id);
    taken += size;
  }
  return out;
}

}  // namespace sensordb::head
