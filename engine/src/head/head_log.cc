#include "head/head_log.h"

#include <algorithm>

#include "sensordb/coding.h"
#include "store/keys.h"

namespace sensordb::head {
namespace {

using store::Cf;

// "head record 42 of project id 3: <status>": where a damaged record sits, from its key.
Status Name(const Status& s, std::string_view what, std::string_view key) {
  if (s.ok()) return s;
  if (key.empty()) return Status(s.code(), std::string(what) + ": " + s.message());
  uint32_t pid = 0;
  uint64_t seq = 0;
  std::string_view k = key;
  if (!GetFixed32BE(&k, &pid) || !GetFixed64BE(&k, &seq)) {
    return Status(s.code(), std::string(what) + " with a malformed key: " + s.message());
  }
  return Status(s.code(), std::string(what) + " " + std::to_string(seq) + " of project id " +
                              std::to_string(pid) + ": " + s.message());
}

}  // namespace

void EncodeSealRecord(std::span<const SealEntry> entries, std::string* out) {
  out->push_back(char(kSealRecordVersion));
  PutVarint64(out, entries.size());
  for (const SealEntry& e : entries) {
    PutVarint64(out, e.series);
    PutVarint64(out, e.sealed);
  }
}

Status DecodeSealRecord(std::string_view in, std::vector<SealEntry>* out) {
  out->clear();
  const Status bad = Status::Corruption("seal record is malformed");
  if (in.empty() || uint8_t(in[0]) != kSealRecordVersion) {
    return Status::Corruption("seal record has an unknown version");
  }
  in.remove_prefix(1);
  uint64_t n;
  if (!GetVarint64(&in, &n) || n > in.size()) return bad;
  out->resize(n);
  for (SealEntry& e : *out) {
    if (!GetVarint64(&in, &e.series) || !GetVarint64(&in, &e.sealed)) return bad;
  }
  return in.empty() ? Status::Ok() : bad;
}

Status HeadLog::AddRecord(uint32_t project, uint64_t seq, std::string_view payload,
                          store::Store::Batch* batch) const {
  thread_local std::string sealed;
  sealed.clear();
  const std::string key = store::HeadKey(project, seq);
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Seal(project, crypto::RecordKind::kHeadRecord, key, payload, &sealed));
  batch->Put(Cf::kHead, key, sealed);
  return Status::Ok();
}

Status HeadLog::AddSealRecord(uint32_t project, uint64_t max_seq, uint64_t nonce,
                              std::span<const SealEntry> entries,
                              store::Store::Batch* batch) const {
  std::string plain, sealed;
  EncodeSealRecord(entries, &plain);
  const std::string key = store::SealRecordKey(project, max_seq, nonce);
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Seal(project, crypto::RecordKind::kSealRecord, key, plain, &sealed));
  batch->Put(Cf::kHead, key, sealed);
  return Status::Ok();
}

Result<uint64_t> HeadLog::LoadFloor() const {
  auto q = store_.Get(Cf::kMeta, store::MetaKey(store::MetaTag::kHeadFloor));
  if (!q) return Err(Name(q.error(), "reading the head floor", {}));
  uint64_t floor = 1;
  if (*q) {
    std::string_view in = **q;
    if (!GetFixed64BE(&in, &floor) || floor == 0 || !in.empty()) {
      return Err(Status::Corruption("head floor is malformed"));
    }
  }
  return floor;
}

Result<uint64_t> HeadLog::Replay(const ReplayHandler& h) const {
  uint64_t max_seq = 0;
  // Fails the replay, or in salvage reports the damage and goes on.
  auto damaged = [&h](const Status& s) -> Status {
    if (s.ok() || !h.damage) return s;
    h.damage(s);
    return Status::Ok();
  };
  // Both kinds of record: the key parsed (seq counted even for a dropped project, so sequence
  // numbers never go back), then opened under the project's key unless the project was dropped.
  // *dropped is set for a dropped project's record, which is skipped unread.
  std::string plain;
  auto open = [&](crypto::RecordKind kind, std::string_view key, std::string_view value,
                  uint32_t* pid, uint64_t* seq, bool* dropped) -> Status {
    std::string_view k = key;
    const bool seal = kind == crypto::RecordKind::kSealRecord;
    const size_t size = seal ? store::kSealRecordKeySize : store::kHeadKeySize;
    if (key.size() != size || !GetFixed32BE(&k, pid) || !GetFixed64BE(&k, seq)) {
      return Status::Corruption(seal ? "seal record key is malformed"
                                     : "head record key is malformed");
    }
    max_seq = std::max(max_seq, *seq);
    plain.clear();
    *dropped = !h.known(*pid);
    if (*dropped) return Status::Ok();
    return cipher_.Open(*pid, kind, key, value, &plain);
  };
  std::vector<SealEntry> seals;
  auto replay_seal = [&](std::string_view key, std::string_view value) -> Status {
    uint32_t pid;
    uint64_t seq;
    bool dropped;
    SENSORDB_RETURN_IF_ERROR(open(crypto::RecordKind::kSealRecord, key, value, &pid, &seq, &dropped));
    if (dropped) return Status::Ok();
    SENSORDB_RETURN_IF_ERROR(DecodeSealRecord(plain, &seals));
    return h.seal(pid, seals);
  };
  thread_local std::vector<HeadRecordEntry> entries;
  auto replay_record = [&](std::string_view key, std::string_view value) -> Status {
    uint32_t pid;
    uint64_t seq;
    bool dropped;
    SENSORDB_RETURN_IF_ERROR(open(crypto::RecordKind::kHeadRecord, key, value, &pid, &seq, &dropped));
    if (dropped) return Status::Ok();
    SENSORDB_RETURN_IF_ERROR(DecodeHeadRecord(plain, &entries));
    return h.record(pid, seq, entries);
  };

  auto it = store_.NewIterator(Cf::kHead);
  // Pass 1: what each series has sealed. Pass 2: the head records (the handler skips what is
  // sealed). Each pass checks the iterator's status before the next Seek would clear it.
  for (it->Seek(""); it->Valid(); it->Next()) {
    if (it->key().size() != store::kSealRecordKeySize) continue;
    SENSORDB_RETURN_IF_ERROR(
        damaged(Name(replay_seal(it->key(), it->value()), "seal record", it->key())));
  }
  SENSORDB_RETURN_IF_ERROR(damaged(Name(it->status(), "reading the head column family", {})));
  for (it->Seek(""); it->Valid(); it->Next()) {
    if (it->key().size() == store::kSealRecordKeySize) continue;
    SENSORDB_RETURN_IF_ERROR(
        damaged(Name(replay_record(it->key(), it->value()), "head record", it->key())));
  }
  SENSORDB_RETURN_IF_ERROR(damaged(Name(it->status(), "reading the head column family", {})));
  return max_seq;
}

Status HeadLog::Truncate(std::span<const uint32_t> projects, uint64_t applied,
                         const std::map<uint32_t, uint64_t>& open) {
  std::lock_guard lock(truncate_mu_);
  if (truncated_ && truncated_applied_ == applied && truncated_open_ == open) return Status::Ok();
  // Two callers may read `applied` in one order and get here in the other: the floor never
  // goes back (a lower floor after a crash would hand out block sequence numbers again).
  if (truncated_ && applied < truncated_applied_) return Status::Ok();
  auto wb = store_.NewBatch();
  for (uint32_t pid : projects) {
    auto it = open.find(pid);
    const uint64_t keep_from = it == open.end() ? applied + 1 : std::min(it->second, applied + 1);
    wb.DeleteRange(Cf::kHead, store::HeadKey(pid, 0), store::HeadKey(pid, keep_from));
  }
  // Sequence numbers must keep growing across restarts even when no head record is left.
  std::string floor;
  PutFixed64BE(&floor, applied + 1);
  wb.Put(Cf::kMeta, store::MetaKey(store::MetaTag::kHeadFloor), floor);
  SENSORDB_RETURN_IF_ERROR(store_.Write(wb, /*sync=*/false));
  truncated_ = true;
  truncated_applied_ = applied;
  truncated_open_ = open;
  return Status::Ok();
}

}  // namespace sensordb::head
