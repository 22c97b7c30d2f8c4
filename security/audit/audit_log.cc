#include "audit/audit_log.h"

#include <algorithm>
#include <map>

#include "tokens/token_text.h"

namespace sensordb {

std::string_view AuditProblemName(AuditProblem::Kind kind) {
  switch (kind) {
    case AuditProblem::Kind::kMissing:
      return "missing";
    case AuditProblem::Kind::kUnreadable:
      return "unreadable";
    case AuditProblem::Kind::kAltered:
      return "altered";
    case AuditProblem::Kind::kReordered:
      return "reordered";
    case AuditProblem::Kind::kBrokenLink:
      return "broken-link";
    case AuditProblem::Kind::kTruncated:
      return "truncated";
    case AuditProblem::Kind::kHeadMismatch:
      return "head-mismatch";
    case AuditProblem::Kind::kRolledBack:
      return "rolled-back";
    case AuditProblem::Kind::kAnchorDamaged:
      return "anchor-damaged";
  }
  return "unknown";
}

std::string AuditVerifyReport::ToString() const {
  if (ok()) {
    return "audit log intact: " + std::to_string(entries_checked) + " entries, head " +
           HashToHex(head.hash);
  }
  std::string s = "audit log damaged (" + std::to_string(problems.size()) + " problem(s)):";
  for (const auto& p : problems) s += "\n  " + p.message;
  return s;
}

namespace {

// What the anchor file says about the stored head.
struct AnchorCheck {
  std::optional<AuditProblem> problem;
  bool current = false;  // the file exists and equals the head: nothing to write
};

// Compares the anchor file with the stored head (entries 0 when there is none). They agree
// when equal; when the file is one entry behind and names an entry of the chain (the process
// stopped between an entry and its anchor: Append keeps the lag at most one); and when there
// is no file for a log that never had one (a version 1 head, or a stop before the first
// anchor was written).
Result<AnchorCheck> CheckAnchor(SystemStore& store, const AuditHead& head) {
  const std::string file(kAuditAnchorFile);
  const AuditAnchor& h = head.anchor;
  AnchorCheck c;
  auto add = [&](AuditProblem::Kind kind, uint64_t seq, uint64_t count, std::string message) {
    c.problem = AuditProblem{kind, seq, count, std::move(message)};
    return c;
  };
  auto stored = store.GetFileRecord(file);
  if (!stored) {
    if (stored.error().code() != StatusCode::kCorruption) return Err(stored.error());
    return add(AuditProblem::Kind::kAnchorDamaged, h.entries, 1,
               "the anchor file " + file + " is damaged: " + stored.error().message());
  }
  if (!*stored) {
    if (!head.anchored || h.entries <= 1) return c;
    return add(AuditProblem::Kind::kAnchorDamaged, h.entries, 1,
               "the anchor file " + file + " of this log (" + std::to_string(h.entries) +
                   " entries) is missing: it was deleted, or the data directory was restored "
                   "from a backup, which does not hold it");
  }
  auto a = DecodeAuditAnchor(**stored);
  if (!a) {
    return add(AuditProblem::Kind::kAnchorDamaged, h.entries, 1,
               "the anchor file " + file + " is malformed");
  }
  if (a->entries > h.entries) {
    return add(AuditProblem::Kind::kRolledBack, h.entries + 1, a->entries - h.entries,
               "the log was rolled back: the anchor file records " + std::to_string(a->entries) +
                   " entries (last hash " + HashToHex(a->hash) + "), the head only " +
                   std::to_string(h.entries) + ", so entries " + std::to_string(h.entries + 1) +
                   "-" + std::to_string(a->entries) + " were removed and an older head put back");
  }
  if (a->entries == h.entries) {
    if (a->hash == h.hash) {
      c.current = true;
      return c;
    }
    return add(AuditProblem::Kind::kRolledBack, h.entries, 1,
               "the log was rolled back or rewritten: the anchor file's hash of entry " +
                   std::to_string(h.entries) + " differs from the head's");
  }
  if (a->entries + 1 < h.entries) {
    return add(AuditProblem::Kind::kAnchorDamaged, a->entries, h.entries - a->entries,
               "the anchor file records " + std::to_string(a->entries) + " entries, the head " +
                   std::to_string(h.entries) + ": an older anchor file was put back");
  }
  AuditHash in_chain{};  // entry 0 is the zero hash
  if (a->entries > 0) {
    SENSORDB_ASSIGN_OR_RETURN(auto value, store.GetNumbered(SystemSpace::kAudit, a->entries));
    if (value) {
      auto e = DecodeAuditValue(*value);
      if (e) in_chain = e->hash;
    }
  }
  if (in_chain != a->hash) {
    return add(AuditProblem::Kind::kRolledBack, a->entries, 1,
               "the log was rolled back or rewritten: entry " + std::to_string(a->entries) +
                   " is not the one the anchor file records");
  }
  return c;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(SystemStore& store, AuditOpenMode mode) {
  SENSORDB_ASSIGN_OR_RETURN(auto head_value, store.GetNamed(SystemSpace::kServer, kAuditHeadName));
  SENSORDB_ASSIGN_OR_RETURN(uint64_t last, store.LastNumbered(SystemSpace::kAudit));
  AuditHead head;
  if (head_value) {
    auto decoded = DecodeAuditHead(*head_value);
    if (!decoded) {
      return Err(
          Status::Corruption("the audit log's head record is unreadable; run audit "
                             "verify and restore the system records from a backup"));
    }
    head = *decoded;
  } else if (last != 0) {
    return Err(Status::Corruption(
        "the audit log holds entries up to " + std::to_string(last) +
        " but its head record is missing, so truncation cannot be ruled out; run audit verify "
        "and restore the system records from a backup"));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(store, head.anchor));
  if (mode == AuditOpenMode::kInspect) return log;
  SENSORDB_ASSIGN_OR_RETURN(const AnchorCheck check, CheckAnchor(store, head));
  if (check.problem) {
    return Err(Status::Corruption(
        "the audit log failed its anchor check: " + check.problem->message +
        ". Run `sensordb audit verify`; if the data directory was restored from a backup, "
        "`sensordb audit verify --adopt-anchor` accepts the restored log"));
  }
  std::lock_guard lock(log->mu_);
  if (!check.current) SENSORDB_RETURN_IF_ERROR(log->WriteAnchorLocked(head.anchor));
  if (head_value && !head.anchored) {  // from now on a missing anchor file is a problem
    SENSORDB_RETURN_IF_ERROR(
        store.PutNamed(SystemSpace::kServer, kAuditHeadName, EncodeAuditHead(head.anchor)));
  }
  return log;
}

Status AuditLog::WriteAnchorLocked(const AuditAnchor& anchor) {
  Status s = store_.PutFileRecord(kAuditAnchorFile, EncodeAuditAnchor(anchor));
  anchor_stale_ = !s.ok();
  return s;
}

Status AuditLog::AdoptAnchor() {
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto head_value, store_.GetNamed(SystemSpace::kServer, kAuditHeadName));
  AuditHead head;
  if (head_value) {
    SENSORDB_ASSIGN_OR_RETURN(head, DecodeAuditHead(*head_value));
  }
  SENSORDB_ASSIGN_OR_RETURN(const AnchorCheck check, CheckAnchor(store_, head));
  if (check.problem && check.problem->kind != AuditProblem::Kind::kAnchorDamaged) {
    return Status::FailedPrecondition(
        "the anchor file is not replaced: " + check.problem->message + " (to accept this, "
        "move " + std::string(kAuditAnchorFile) + " out of the data directory first)");
  }
  SENSORDB_RETURN_IF_ERROR(WriteAnchorLocked(head.anchor));
  if (head_value && !head.anchored) {
    SENSORDB_RETURN_IF_ERROR(
        store_.PutNamed(SystemSpace::kServer, kAuditHeadName, EncodeAuditHead(head.anchor)));
  }
  head_ = head.anchor;
  return Status::Ok();
}

AuditAnchor AuditLog::Head() const {
  std::lock_guard lock(mu_);
  return head_;
}

Result<uint64_t> AuditLog::Append(AuditEvent event, std::span<const SystemStore::Op> with) {
  event.detail = RedactTokens(event.detail);
  if (event.detail.size() > kMaxAuditDetailBytes) event.detail.resize(kMaxAuditDetailBytes);
  std::lock_guard lock(mu_);
  const uint64_t seq = head_.entries + 1;
  const std::string body = EncodeAuditBody(seq, event);
  const AuditAnchor next{seq, ChainHash(head_.hash, body)};

  std::vector<SystemStore::Op> ops(with.begin(), with.end());
  ops.push_back({SystemStore::Op::Kind::kPutNumbered,
                 SystemSpace::kAudit,
                 {},
                 seq,
                 EncodeAuditValue(head_.hash, next.hash, body)});
  ops.push_back({SystemStore::Op::Kind::kPutNamed, SystemSpace::kServer,
                 std::string(kAuditHeadName), 0, EncodeAuditHead(next)});
  // The anchor may lag the head by one entry at most (CheckAnchor): a failed anchor write
  // must be made good before another entry goes in.
  if (anchor_stale_) {
    Status s = WriteAnchorLocked(head_);
    if (!s.ok()) {
      return Err(Status(s.code(), "the audit log cannot update its anchor file, so no entry is "
                                  "added: " + s.message()));
    }
  }
  SENSORDB_RETURN_IF_ERROR(store_.Apply(ops));
  head_ = next;
  // The entry is durable: it is reported as added even if the anchor write fails (the next
  // append retries it first, and refuses while it keeps failing).
  WriteAnchorLocked(next).IgnoreError();
  return seq;
}

Status AuditLog::Read(uint64_t from_seq, const std::function<bool(const AuditEntry&)>& fn) {
  Status inner;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNumbered(SystemSpace::kAudit, std::max<uint64_t>(from_seq, 1),
                                               [&](uint64_t id, std::string_view value) {
                                                 auto entry = DecodeAuditValue(value);
                                                 if (!entry) {
                                                   inner = Status::Corruption(
                                                       "audit entry " + std::to_string(id) +
                                                       " is unreadable; run audit verify");
                                                   return false;
                                                 }
                                                 return fn(*entry);
                                               }));
  return inner;
}

namespace {

// The chain walk of Verify, one stored entry at a time.
class ChainWalker {
 public:
  void Entry(uint64_t id, std::string_view value) {
    if (id > expected_) {
      Add(AuditProblem::Kind::kMissing, expected_, id - expected_,
          Range(expected_, id - expected_) + " missing (the log jumps from " +
              std::to_string(expected_ - 1) + " to " + std::to_string(id) + ")");
    }
    // A link right after a reported problem is not reported again: it breaks by consequence.
    const bool after_problem = id > expected_ || previous_had_problem_;
    const size_t problems_before = problems_.size();
    expected_ = id + 1;
    ++checked_;
    std::string body;
    auto e = DecodeAuditValue(value, &body);
    if (!e) {
      Add(AuditProblem::Kind::kUnreadable, id, 1, "entry " + std::to_string(id) + " is unreadable");
      running_.reset();
      previous_had_problem_ = true;
      return;
    }
    if (e->seq != id) {
      Add(AuditProblem::Kind::kReordered, id, 1,
          "position " + std::to_string(id) + " holds entry " + std::to_string(e->seq) +
              " (entries moved or reordered)");
    } else if (ChainHash(e->prev_hash, body) != e->hash) {
      Add(AuditProblem::Kind::kAltered, id, 1,
          "entry " + std::to_string(id) + " was altered (its content does not match its hash)");
    } else if (!after_problem && running_ && e->prev_hash != *running_) {
      Add(AuditProblem::Kind::kBrokenLink, id, 1,
          "entry " + std::to_string(id) + " does not follow entry " + std::to_string(id - 1) +
              " (entry " + std::to_string(id - 1) + " was altered or replaced)");
    }
    running_ = e->hash;  // resynchronise so that later breaks are reported on their own
    previous_had_problem_ = problems_.size() != problems_before;
  }

  void Finish(const AuditAnchor& head, const std::optional<AuditAnchor>& anchor) {
    const uint64_t stored = expected_ - 1;
    if (head.entries > stored) {
      Add(AuditProblem::Kind::kTruncated, stored + 1, head.entries - stored,
          "the log was truncated: the head records " + std::to_string(head.entries) +
              " entries, the last stored one is " + std::to_string(stored) + " (" +
              Range(stored + 1, head.entries - stored) + " missing)");
    } else if (stored > 0 && running_ && *running_ != head.hash) {
      Add(AuditProblem::Kind::kHeadMismatch, stored, 1,
          "the last entry's hash differs from the head (entry " + std::to_string(stored) +
              " was replaced)");
    }
    if (anchor && anchor->entries > 0) {
      auto it = hashes_.find(anchor->entries);
      if (it == hashes_.end() || it->second != anchor->hash) {
        Add(AuditProblem::Kind::kHeadMismatch, anchor->entries, 1,
            "the exported anchor (entry " + std::to_string(anchor->entries) +
                ") is not in the chain: the log up to it was rewritten or truncated");
      }
    }
  }

  void Foreign(uint64_t first, uint64_t count) {
    Add(AuditProblem::Kind::kHeadMismatch, first, count,
        Range(first, count) + " past the head (written outside the audit log)");
  }
  void Remember(uint64_t id) {
    if (running_ && id == anchor_seq_) hashes_[id] = *running_;
  }
  void set_anchor_seq(uint64_t s) { anchor_seq_ = s; }
  uint64_t checked() const { return checked_; }
  std::vector<AuditProblem> TakeProblems() { return std::move(problems_); }

 private:
  static std::string Range(uint64_t first, uint64_t count) {
    return count == 1 ? "entry " + std::to_string(first) + " is"
                      : "entries " + std::to_string(first) + "-" +
                            std::to_string(first + count - 1) + " are";
  }
  void Add(AuditProblem::Kind kind, uint64_t seq, uint64_t count, std::string message) {
    if (problems_.size() < kMaxReportedProblems) {
      problems_.push_back({kind, seq, count, std::move(message)});
    }
  }

  uint64_t expected_ = 1;
  uint64_t checked_ = 0;
  uint64_t anchor_seq_ = 0;
  bool previous_had_problem_ = false;
  std::optional<AuditHash> running_ = AuditHash{};  // entry 1 follows 32 zero bytes
  std::map<uint64_t, AuditHash> hashes_;
  std::vector<AuditProblem> problems_;
};

}  // namespace

Result<AuditVerifyReport> AuditLog::Verify(std::optional<AuditAnchor> anchor) {
  // The chain is checked up to the head as it was when Verify started; appends that race with
  // the walk land after it and are left for the next verification.
  AuditVerifyReport report;
  std::optional<std::string> head_value;
  {
    std::lock_guard lock(mu_);
    SENSORDB_ASSIGN_OR_RETURN(head_value, store_.GetNamed(SystemSpace::kServer, kAuditHeadName));
    AuditHead head;
    if (head_value) {
      auto decoded = DecodeAuditHead(*head_value);
      if (decoded) head = *decoded;
    }
    report.head = head.anchor;
    if (report.head != head_) {
      report.problems.push_back({AuditProblem::Kind::kHeadMismatch, report.head.entries, 1,
                                 "the stored head record was changed behind the log's back"});
    }
    SENSORDB_ASSIGN_OR_RETURN(const AnchorCheck check, CheckAnchor(store_, head));
    if (check.problem) report.problems.push_back(*check.problem);
  }
  ChainWalker walker;
  if (anchor) walker.set_anchor_seq(anchor->entries);
  uint64_t beyond = 0;
  SENSORDB_RETURN_IF_ERROR(
      store_.ScanNumbered(SystemSpace::kAudit, 1, [&](uint64_t id, std::string_view value) {
        if (id > report.head.entries) {
          beyond = id;
          return false;
        }
        walker.Entry(id, value);
        walker.Remember(id);
        return true;
      }));
  if (beyond != 0) {
    std::lock_guard lock(mu_);  // no append in flight: anything past our head is foreign
    SENSORDB_ASSIGN_OR_RETURN(uint64_t last, store_.LastNumbered(SystemSpace::kAudit));
    if (last > head_.entries) {
      walker.Foreign(head_.entries + 1, last - head_.entries);
    }
  }
  walker.Finish(report.head, anchor);
  report.entries_checked = walker.checked();
  for (auto& p : walker.TakeProblems()) {
    if (report.problems.size() < kMaxReportedProblems) report.problems.push_back(std::move(p));
  }
  if (!head_value && report.entries_checked + beyond > 0) {
    report.problems.insert(report.problems.begin(),
                           {AuditProblem::Kind::kHeadMismatch, 0, 0,
                            "the head record is missing (the log may have been truncated)"});
  }
  return report;
}

}  // namespace sensordb
