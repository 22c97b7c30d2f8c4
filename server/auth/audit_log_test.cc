// The audit log: append, read with per-project filtering, verification, and tampering through
// the SystemStore (missing, altered, reordered, truncated entries, a rewritten head).
#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/auth_test_util.h"

namespace sensordb::server::testing {
namespace {

using Op = SystemStore::Op;

class Audit : public AuthTest {
 protected:
  // Appends n events of project `project` and returns the head afterwards.
  uint64_t AppendEvents(int n, std::optional<uint32_t> project = std::nullopt) {
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(auth_
                      ->Record(Root(kT0 + i), AuditAction::kBackup, project, AuditOutcome::kSuccess,
                               "backup " + std::to_string(i))
                      .ok());
    }
    return auth_->audit().Head().entries;
  }
  AuditVerifyReport Verify(std::optional<AuditAnchor> anchor = std::nullopt) {
    auto r = auth_->VerifyAudit(Root(), anchor);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(AuditVerifyReport{});
  }
  std::string Get(uint64_t id) {
    auto v = store_->GetNumbered(SystemSpace::kAudit, id);
    EXPECT_TRUE(v && v->has_value());
    return v && *v ? **v : std::string();
  }
  void Put(uint64_t id, std::string value) {
    Op op{Op::Kind::kPutNumbered, SystemSpace::kAudit, {}, id, std::move(value)};
    ASSERT_TRUE(store_->Apply({&op, 1}).ok());
  }
  void Delete(uint64_t id) {
    Op op{Op::Kind::kDeleteNumbered, SystemSpace::kAudit, {}, id, {}};
    ASSERT_TRUE(store_->Apply({&op, 1}).ok());
  }
  // Entry `id` with a changed detail; its stored hash kept, or recomputed to match.
  std::string Altered(uint64_t id, bool rehash) {
    auto e = DecodeAuditValue(Get(id));
    EXPECT_TRUE(e.has_value());
    e->event.detail = "nothing happened here";
    const std::string body = EncodeAuditBody(e->seq, e->event);
    return EncodeAuditValue(e->prev_hash, rehash ? ChainHash(e->prev_hash, body) : e->hash, body);
  }
};

TEST_P(Audit, AppendedEntriesReadBackAndVerify) {
  const uint64_t head = AppendEvents(5, 3u);
  std::vector<AuditEntry> all;
  ASSERT_TRUE(auth_
                  ->ReadAudit(Root(), 1, std::nullopt, 0,
                              [&](const AuditEntry& e) {
                                all.push_back(e);
                                return true;
                              })
                  .ok());
  ASSERT_EQ(all.size(), head);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
  EXPECT_EQ(all[0].event.action, AuditAction::kBootstrap);
  EXPECT_EQ(all.back().event.detail, "backup 4");
  EXPECT_EQ(all.back().event.project, std::optional<uint32_t>(3));
  EXPECT_EQ(all.back().event.principal, root_.name);
  EXPECT_EQ(all.back().event.address, "10.0.0.1");
  const AuditVerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << r.ToString();
  EXPECT_EQ(r.entries_checked, head);
  EXPECT_EQ(r.head, auth_->audit().Head());
}

TEST_P(Audit, LoginsFailuresAndChangesAreRecorded) {
  (void)Login("alice", kAlicePassword);
  (void)Login("alice", "wrong password!!");
  ASSERT_TRUE(auth_->grants().SetGrant(Root(), {1, "greenhouse"}, "alice", Role::kReader).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(auth_->audit()
                  .Read(1,
                        [&](const AuditEntry& e) {
                          seen.push_back(std::string(AuditActionName(e.event.action)) + "/" +
                                         std::string(AuditOutcomeName(e.event.outcome)));
                          return true;
                        })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"bootstrap/success", "login/success",
                                            "user-created/success", "login/success",
                                            "login-failed/failure", "grant-set/success"}));
}

TEST_P(Audit, DeletedEntryInTheMiddleIsFoundAtItsPosition) {
  const uint64_t head = AppendEvents(10);
  Delete(6);
  const AuditVerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.problems.size(), 1u) << r.ToString();
  EXPECT_EQ(r.problems[0].kind, AuditProblem::Kind::kMissing);
  EXPECT_EQ(r.problems[0].seq, 6u);
  EXPECT_EQ(r.problems[0].count, 1u);
  EXPECT_EQ(r.entries_checked, head - 1);
}

TEST_P(Audit, AlteredEntryIsFoundAtItsPosition) {
  AppendEvents(10);
  Put(5, Altered(5, false));
  const AuditVerifyReport r = Verify();
  ASSERT_EQ(r.problems.size(), 1u) << r.ToString();
  EXPECT_EQ(r.problems[0].kind, AuditProblem::Kind::kAltered);
  EXPECT_EQ(r.problems[0].seq, 5u);
}

TEST_P(Audit, AlteredEntryWithARecomputedHashBreaksTheNextLink) {
  AppendEvents(10);
  Put(5, Altered(5, true));
  const AuditVerifyReport r = Verify();
  ASSERT_EQ(r.problems.size(), 1u) << r.ToString();
  EXPECT_EQ(r.problems[0].kind, AuditProblem::Kind::kBrokenLink);
  EXPECT_EQ(r.problems[0].seq, 6u);
  EXPECT_NE(r.problems[0].message.find("entry 5 was altered or replaced"), std::string::npos);
}

TEST_P(Audit, ReorderedEntriesAreFound) {
  AppendEvents(10);
  const std::string three = Get(3), four = Get(4);
  Put(3, four);
  Put(4, three);
  const AuditVerifyReport r = Verify();
  ASSERT_EQ(r.problems.size(), 2u) << r.ToString();
  EXPECT_EQ(r.problems[0].kind, AuditProblem::Kind::kReordered);
  EXPECT_EQ(r.problems[0].seq, 3u);
  EXPECT_EQ(r.problems[1].kind, AuditProblem::Kind::kReordered);
  EXPECT_EQ(r.problems[1].seq, 4u);
}

TEST_P(Audit, TruncatedTailIsFoundThroughTheHead) {
  const uint64_t head = AppendEvents(10);
  for (uint64_t id = head - 2; id <= head; ++id) Delete(id);
  const AuditVerifyReport r = Verify();
  ASSERT_EQ(r.problems.size(), 1u) << r.ToString();
  EXPECT_EQ(r.problems[0].kind, AuditProblem::Kind::kTruncated);
  EXPECT_EQ(r.problems[0].seq, head - 2);
  EXPECT_EQ(r.problems[0].count, 3u);
}

TEST_P(Audit, MissingHeadStopsTheNextOpen) {
  AppendEvents(3);
  Op op{Op::Kind::kDeleteNamed, SystemSpace::kServer, std::string(kAuditHeadName), 0, {}};
  ASSERT_TRUE(store_->Apply({&op, 1}).ok());
  EXPECT_FALSE(Verify().ok());
  auto reopened = AuthService::Open(*store_, FastOptions());
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), StatusCode::kCorruption);
}

// Issue 12: the newest entries deleted and an older sealed head (a true copy, so it opens)
// written back. The chain up to the old head is intact; only something outside the store
// can tell that it once went further.
TEST_P(Audit, AnOlderHeadPutBackAfterDeletingTheNewestEntriesStopsTheNextOpen) {
  AppendEvents(4);
  const uint64_t old_entries = auth_->audit().Head().entries;
  auto old_head = store_->GetNamed(SystemSpace::kServer, kAuditHeadName);
  ASSERT_TRUE(old_head.has_value() && old_head->has_value());
  const uint64_t head = AppendEvents(3);
  for (uint64_t id = old_entries + 1; id <= head; ++id) Delete(id);
  ASSERT_TRUE(store_->PutNamed(SystemSpace::kServer, kAuditHeadName, **old_head).ok());

  auth_.reset();  // as after a restart: the running log's own memory of its head is gone
  auto reopened = AuthService::Open(*store_, FastOptions());
  ASSERT_FALSE(reopened.has_value()) << "a rolled-back audit log was accepted";
  EXPECT_EQ(reopened.error().code(), StatusCode::kCorruption);
  EXPECT_NE(reopened.error().message().find("rolled back"), std::string::npos)
      << reopened.error().message();
  EXPECT_NE(reopened.error().message().find(std::to_string(head)), std::string::npos)
      << reopened.error().message();
}

TEST_P(Audit, VerifyReportsARolledBackLogOpenedForInspection) {
  const uint64_t old_entries = AppendEvents(2);
  auto old_head = store_->GetNamed(SystemSpace::kServer, kAuditHeadName);
  ASSERT_TRUE(old_head.has_value() && old_head->has_value());
  const uint64_t head = AppendEvents(2);
  for (uint64_t id = old_entries + 1; id <= head; ++id) Delete(id);
  ASSERT_TRUE(store_->PutNamed(SystemSpace::kServer, kAuditHeadName, **old_head).ok());
  auth_.reset();
  auto log = AuditLog::Open(*store_, AuditOpenMode::kInspect);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  auto r = (*log)->Verify();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->problems.size(), 1u) << r->ToString();
  EXPECT_EQ(r->problems[0].kind, AuditProblem::Kind::kRolledBack);
  EXPECT_EQ(r->problems[0].seq, old_entries + 1);
  EXPECT_EQ(r->problems[0].count, head - old_entries);
  // Not an anchor to adopt: a rollback is for an operator to look into.
  EXPECT_EQ((*log)->AdoptAnchor().code(), StatusCode::kFailedPrecondition);
}

TEST_P(Audit, AnAnchorOneEntryBehindIsAStopNotATampering) {
  AppendEvents(2);
  auto behind = store_->GetFileRecord(kAuditAnchorFile);
  ASSERT_TRUE(behind.has_value() && behind->has_value());
  AppendEvents(1);
  // As if the process stopped between the entry and its anchor.
  ASSERT_TRUE(store_->PutFileRecord(kAuditAnchorFile, **behind).ok());
  Reopen(FastOptions());
  EXPECT_TRUE(Verify().ok()) << Verify().ToString();
}

TEST_P(Audit, AMissingAnchorStopsTheOpenUntilAnOperatorAdoptsIt) {
  const uint64_t head = AppendEvents(3);
  if (GetParam() == Backend::kDb) {
    ASSERT_TRUE(std::filesystem::remove(dir_.Sub(std::string(kAuditAnchorFile))));
  } else {
    fake_.DeleteFileRecord(kAuditAnchorFile);
  }
  auth_.reset();  // as after a restore from a backup, which holds no anchor file
  auto refused = AuthService::Open(*store_, FastOptions());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("AUDIT_ANCHOR"), std::string::npos)
      << refused.error().message();
  auto log = AuditLog::Open(*store_, AuditOpenMode::kInspect);
  ASSERT_TRUE(log.has_value());
  auto r = (*log)->Verify();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->problems.size(), 1u) << r->ToString();
  EXPECT_EQ(r->problems[0].kind, AuditProblem::Kind::kAnchorDamaged);
  ASSERT_TRUE((*log)->AdoptAnchor().ok());
  log->reset();
  Reopen(FastOptions());
  EXPECT_TRUE(Verify().ok());
  EXPECT_EQ(auth_->audit().Head().entries, head);
}

TEST_P(Audit, AnExportedAnchorDetectsARewrittenChain) {
  AppendEvents(4);
  const AuditAnchor anchor = auth_->audit().Head();
  AppendEvents(2);
  EXPECT_TRUE(Verify(anchor).ok());
  AuditAnchor forged = anchor;
  forged.hash[0] ^= 1;
  const AuditVerifyReport r = Verify(forged);
  ASSERT_EQ(r.problems.size(), 1u) << r.ToString();
  EXPECT_EQ(r.problems[0].seq, anchor.entries);
}

TEST_P(Audit, AdminsReadTheirProjectsOnlyAndSuperusersAll) {
  ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "carol", "carols password").ok());
  ASSERT_TRUE(auth_->grants().SetGrant(Root(), {1, "greenhouse"}, "carol", Role::kAdmin).ok());
  ASSERT_TRUE(auth_->grants().SetGrant(Root(), {2, "brewery"}, "alice", Role::kReader).ok());
  AppendEvents(2, 1u);
  AppendEvents(3, 2u);
  auto carol = Login("carol", "carols password");
  auto alice = Login("alice", kAlicePassword);
  ASSERT_TRUE(carol && alice);
  const auto count = [&](const Principal& p, std::optional<ProjectRef> project, Status* s) {
    size_t n = 0;
    *s = auth_->ReadAudit({p, "x", kT0}, 1, project, 0, [&](const AuditEntry& e) {
      if (!p.superuser) {
        EXPECT_EQ(e.event.project, std::optional<uint32_t>(1));
      }
      ++n;
      return true;
    });
    return n;
  };
  Status s;
  EXPECT_EQ(count(*carol, std::nullopt, &s), 3u);  // her grant + two events of project 1
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(count(*carol, ProjectRef{1, "greenhouse"}, &s), 3u);
  count(*carol, ProjectRef{2, "brewery"}, &s);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  count(*alice, std::nullopt, &s);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);  // readers do not read the audit log
  EXPECT_EQ(count(root_, std::nullopt, &s), auth_->audit().Head().entries);
  EXPECT_FALSE(auth_->VerifyAudit({*carol, "x", kT0}).has_value());
}

TEST_P(Audit, SurvivesAReopen) {
  AppendEvents(3);
  const AuditAnchor before = auth_->audit().Head();
  Reopen(FastOptions());
  // The root token was used at the same instant: its last-used time (and audit) is unchanged.
  EXPECT_EQ(auth_->audit().Head(), before);
  EXPECT_TRUE(Verify(before).ok());
}

SENSORDB_AUTH_BACKENDS(Audit);

}  // namespace
}  // namespace sensordb::server::testing
