// Authentication: passwords, tokens, every refusal, lockout back-off, counters, bootstrap.
#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/auth_test_util.h"

namespace sensordb::server::testing {
namespace {

using Auth = AuthTest;

TEST_P(Auth, PasswordLoginReturnsTheUser) {
  auto p = Login("alice", kAlicePassword);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->kind, PrincipalKind::kUser);
  EXPECT_FALSE(p->superuser);
  EXPECT_TRUE(p->token_id.empty());
}

TEST_P(Auth, UnknownUserAndWrongPasswordGetTheSameReply) {
  auto wrong = Login("alice", "not alices password");
  auto unknown = Login("mallory", "not alices password");
  ASSERT_FALSE(wrong.has_value());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(wrong.error().reason, RefusalReason::kBadCredentials);
  EXPECT_EQ(unknown.error().reason, RefusalReason::kBadCredentials);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
  EXPECT_EQ(wrong.error().ToStatus().ToString(), unknown.error().ToStatus().ToString());
  EXPECT_EQ(wrong.error().message.find("alice"), std::string::npos);
  EXPECT_EQ(wrong.error().message.find("not alices password"), std::string::npos);
}

// Each Argon2id check holds 64 MiB and a core: logins beyond the bound are refused at once,
// unaudited, without counting against the account; tokens are not held up.
TEST_P(Auth, PasswordChecksBeyondTheBoundAreRefusedAsBusy) {
  ConcurrencyGate& gate = auth_->password_checks();
  ASSERT_EQ(gate.limit(), 2u);
  std::vector<ConcurrencyGate::Pass> held;
  while (auto p = gate.TryEnter()) held.push_back(std::move(*p));
  ASSERT_EQ(held.size(), 2u);
  for (int i = 0; i < 10; ++i) {  // more than the account's 5 free failures
    auto busy = Login("alice", kAlicePassword);
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().reason, RefusalReason::kBusy);
    EXPECT_EQ(busy.error().ToStatus().code(), StatusCode::kRateLimited);
    EXPECT_EQ(busy.error().retry_after_ns, kSecond);
  }
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(Root(), "ingest").ok());
  auto t = auth_->accounts().IssueToken(Root(), "ingest", 0);
  ASSERT_TRUE(t);
  EXPECT_TRUE(UseToken(t->text.view()).has_value());
  held.pop_back();
  EXPECT_TRUE(Login("alice", kAlicePassword).has_value());  // not locked out by the refusals
  EXPECT_EQ(gate.inside(), 1u);
  EXPECT_EQ(auth_->Counters().refused(RefusalReason::kBusy), 10u);
}

TEST_P(Auth, MissingCredentialsAreRefused) {
  auto r = auth_->Authenticate(Credentials::None(), "192.0.2.7", kT0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, RefusalReason::kNoCredentials);
  EXPECT_FALSE(Login("alice", "").has_value());
  EXPECT_EQ(auth_->Counters().refused(RefusalReason::kNoCredentials), 2u);
}

TEST_P(Auth, DisabledAccountIsRefusedOnlyAfterTheRightPassword) {
  ASSERT_TRUE(auth_->accounts().SetDisabled(Root(), "alice", true).ok());
  auto right = Login("alice", kAlicePassword);
  ASSERT_FALSE(right.has_value());
  EXPECT_EQ(right.error().reason, RefusalReason::kDisabled);
  auto wrong = Login("alice", "wrong password!!");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().reason, RefusalReason::kBadCredentials);
  ASSERT_TRUE(auth_->accounts().SetDisabled(Root(), "alice", false).ok());
  EXPECT_TRUE(Login("alice", kAlicePassword).has_value());
}

TEST_P(Auth, PasswordChangeNeedsTheOldPasswordForSelf) {
  auto alice = Login("alice", kAlicePassword);
  ASSERT_TRUE(alice);
  const Actor self{*alice, "192.0.2.7", kT0};
  EXPECT_EQ(
      auth_->accounts().ChangePassword(self, "alice", "wrong old pw", "a new password 1").code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->accounts().ChangePassword(self, "alice", kAlicePassword, "short").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      auth_->accounts().ChangePassword(self, "alice", kAlicePassword, "a new password 1").ok());
  EXPECT_FALSE(Login("alice", kAlicePassword));
  EXPECT_TRUE(Login("alice", "a new password 1"));
  // A superuser resets it without the old one; alice cannot touch another account.
  ASSERT_TRUE(auth_->accounts().ChangePassword(Root(), "alice", {}, "reset by root 12").ok());
  EXPECT_TRUE(Login("alice", "reset by root 12"));
  ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "bob", "bobs password 12").ok());
  EXPECT_EQ(auth_->accounts().ChangePassword(self, "bob", {}, "hijacked pw 1234").code(),
            StatusCode::kPermissionDenied);
}

TEST_P(Auth, HashesMadeWithOldCostsAreUpgradedAtLogin) {
  AuthOptions stronger = FastOptions();
  stronger.password_cost.ops_limit += 1;
  Reopen(stronger);
  ASSERT_TRUE(Login("alice", kAlicePassword));
  auto acct = auth_->accounts().GetAccount("alice");
  ASSERT_TRUE(acct && acct->has_value());
  EXPECT_FALSE(PasswordNeedsRehash((*acct)->password_hash, stronger.password_cost));
  EXPECT_TRUE(Login("alice", kAlicePassword));
}

TEST_P(Auth, TokenRoundTripAndListing) {
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(Root(), "ingest").ok());
  auto t = auth_->accounts().IssueToken(Root(), "ingest", kT0 + 3600 * kSecond);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  auto p = UseToken(t->text.view(), kT0 + 10 * kSecond);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->name, "ingest");
  EXPECT_EQ(p->kind, PrincipalKind::kServiceAccount);
  EXPECT_EQ(p->token_id, t->id);

  auto list = auth_->accounts().ListTokens(Root(), "ingest");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].prefix, "sdb_" + t->id + "_");
  EXPECT_EQ((*list)[0].created_ns, kT0);
  EXPECT_EQ((*list)[0].expires_ns, kT0 + 3600 * kSecond);
  EXPECT_EQ((*list)[0].last_used_ns, kT0 + 10 * kSecond);
  EXPECT_EQ((*list)[0].revoked_ns, 0);
  EXPECT_FALSE(auth_->accounts().IssueToken(Root(), "alice", 0).has_value());  // a user
}

TEST_P(Auth, ExpiredRevokedAndWrongTokensAreRefused) {
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(Root(), "ingest").ok());
  auto t = auth_->accounts().IssueToken(Root(), "ingest", kT0 + 60 * kSecond);
  ASSERT_TRUE(t);
  auto expired = UseToken(t->text.view(), kT0 + 60 * kSecond);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().reason, RefusalReason::kExpired);
  EXPECT_NE(expired.error().message.find("expired on 2026-01-01T00:01:00Z"), std::string::npos);

  auto t2 = auth_->accounts().IssueToken(Root(), "ingest", 0);
  ASSERT_TRUE(t2);
  std::string wrong(t2->text.view());
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';  // mid-secret (the last character has padding bits)
  auto bad = UseToken(wrong);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, RefusalReason::kBadCredentials);
  std::string unknown(t2->text.view());
  unknown[4] = unknown[4] == 'a' ? 'b' : 'a';
  auto unk = UseToken(unknown);
  ASSERT_FALSE(unk);
  EXPECT_EQ(unk.error().message, bad.error().message);
  auto malformed = UseToken("sdb_garbage");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().reason, RefusalReason::kMalformed);

  ASSERT_TRUE(auth_->accounts().RevokeToken(Root(), t2->id).ok());
  auto revoked = UseToken(t2->text.view());
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().reason, RefusalReason::kRevoked);

  ASSERT_TRUE(auth_->accounts().SetDisabled(Root(), "ingest", true).ok());
  auto t3 = auth_->accounts().IssueToken(Root(), "ingest", 0);
  ASSERT_TRUE(t3);
  auto disabled = UseToken(t3->text.view());
  ASSERT_FALSE(disabled);
  EXPECT_EQ(disabled.error().reason, RefusalReason::kDisabled);

  ASSERT_TRUE(auth_->accounts().DeleteAccount(Root(), "ingest").ok());
  EXPECT_FALSE(UseToken(t3->text.view()));
  auto left = auth_->accounts().ListTokens(Root(), "ingest");
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());

  const AuthCounters c = auth_->Counters();
  EXPECT_EQ(c.refused(RefusalReason::kExpired), 1u);
  EXPECT_EQ(c.refused(RefusalReason::kRevoked), 1u);
  EXPECT_EQ(c.refused(RefusalReason::kDisabled), 1u);
  EXPECT_EQ(c.refused(RefusalReason::kMalformed), 1u);
  EXPECT_EQ(c.refused(RefusalReason::kBadCredentials), 3u);
}

TEST_P(Auth, RevalidateEndsSessionsOfDisabledAccountsAndRevokedTokens) {
  auto alice = Login("alice", kAlicePassword);
  ASSERT_TRUE(alice);
  EXPECT_TRUE(auth_->Revalidate(*alice, kT0).ok());
  ASSERT_TRUE(auth_->accounts().SetDisabled(Root(), "alice", true).ok());
  EXPECT_EQ(auth_->Revalidate(*alice, kT0).code(), StatusCode::kPermissionDenied);

  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(Root(), "ingest").ok());
  auto t = auth_->accounts().IssueToken(Root(), "ingest", kT0 + 60 * kSecond);
  ASSERT_TRUE(t);
  auto svc = UseToken(t->text.view());
  ASSERT_TRUE(svc);
  EXPECT_TRUE(auth_->Revalidate(*svc, kT0 + 59 * kSecond).ok());
  EXPECT_EQ(auth_->Revalidate(*svc, kT0 + 60 * kSecond).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(auth_->accounts().RevokeToken(Root(), t->id).ok());
  EXPECT_EQ(auth_->Revalidate(*svc, kT0).code(), StatusCode::kPermissionDenied);
}

TEST_P(Auth, RevalidateEndsPasswordSessionsAfterAPasswordChangeButNotAfterARehash) {
  auto before = Login("alice", kAlicePassword);
  ASSERT_TRUE(before);
  ASSERT_TRUE(auth_->accounts().ChangePassword(Root(), "alice", {}, "a new password 1").ok());
  const Status s = auth_->Revalidate(*before, kT0);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("password"), std::string::npos) << s.message();
  auto after = Login("alice", "a new password 1");
  ASSERT_TRUE(after);
  EXPECT_TRUE(auth_->Revalidate(*after, kT0).ok());
  // A login under a higher cost re-hashes the password (a new hash string): not a change.
  auto old_hash = auth_->accounts().GetAccount("alice");
  ASSERT_TRUE(old_hash && old_hash->has_value());
  AuthOptions stronger = FastOptions();
  stronger.password_cost.ops_limit += 1;
  Reopen(stronger);
  ASSERT_TRUE(Login("alice", "a new password 1"));
  auto new_hash = auth_->accounts().GetAccount("alice");
  ASSERT_TRUE(new_hash && new_hash->has_value());
  ASSERT_NE((*new_hash)->password_hash, (*old_hash)->password_hash);  // it was re-hashed
  EXPECT_TRUE(auth_->Revalidate(*after, kT0).ok());
}

TEST_P(Auth, RevalidateEndsSessionsOfAnAccountDeletedAndCreatedAgain) {
  ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "bob", "bobs password 12").ok());
  auto bob = Login("bob", "bobs password 12");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(auth_->accounts().DeleteAccount(Root(), "bob").ok());
  ASSERT_TRUE(auth_->accounts().CreateUser(Root(kT0 + 1), "bob", "new bobs pw 123").ok());
  // Same name, another account: the old session must not carry over.
  EXPECT_EQ(auth_->Revalidate(*bob, kT0).code(), StatusCode::kPermissionDenied);
}

TEST_P(Auth, AccountLockoutBacksOffExponentiallyAndResets) {
  // Default account policy: 5 free failures, then 1 s, 2 s, 4 s ... (the address allows 20).
  int64_t now = kT0;
  for (int i = 0; i < 5; ++i) {
    auto r = Login("alice", "wrong password!!", now);
    ASSERT_EQ(r.error().reason, RefusalReason::kBadCredentials) << i;
  }
  auto sixth = Login("alice", "wrong password!!", now);
  EXPECT_EQ(sixth.error().reason, RefusalReason::kBadCredentials);  // counted, now locked 1 s
  auto locked = Login("alice", kAlicePassword, now + kSecond / 2);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().reason, RefusalReason::kLockedOut);
  EXPECT_EQ(locked.error().retry_after_ns, kSecond / 2);
  EXPECT_EQ(locked.error().ToStatus().code(), StatusCode::kRateLimited);
  // After the delay, another failure locks for 2 s, then 4 s.
  now += kSecond;
  EXPECT_EQ(Login("alice", "wrong password!!", now).error().reason, RefusalReason::kBadCredentials);
  EXPECT_EQ(Login("alice", kAlicePassword, now + 2 * kSecond - 1).error().reason,
            RefusalReason::kLockedOut);
  now += 2 * kSecond;
  EXPECT_EQ(Login("alice", "wrong password!!", now).error().reason, RefusalReason::kBadCredentials);
  EXPECT_EQ(Login("alice", kAlicePassword, now + 4 * kSecond - 1).error().retry_after_ns, 1);
  // The lockout is per name, existing or not, from any address: other accounts are unaffected.
  EXPECT_TRUE(Login("alice", kAlicePassword, now + 4 * kSecond, "198.51.100.1"));
  // Success reset the account: five free failures again.
  now += 4 * kSecond;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Login("alice", "wrong password!!", now, "198.51.100.1").error().reason,
              RefusalReason::kBadCredentials);
  }
  EXPECT_EQ(auth_->Counters().refused(RefusalReason::kLockedOut), 3u);
}

TEST_P(Auth, UnknownNamesLockOutLikeRealOnes) {
  for (int i = 0; i < 6; ++i) (void)Login("nobody", "whatever pw 123");
  auto r = Login("nobody", "whatever pw 123", kT0 + 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, RefusalReason::kLockedOut);
}

TEST_P(Auth, AddressLockoutCoversEveryAccount) {
  // 20 failures from one address on different names, then the address is locked for 1 s.
  for (int i = 0; i < 21; ++i) {
    EXPECT_EQ(Login("user" + std::to_string(i), "guess pw 12345").error().reason,
              RefusalReason::kBadCredentials);
  }
  auto r = Login("alice", kAlicePassword, kT0 + 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, RefusalReason::kLockedOut);
  EXPECT_TRUE(Login("alice", kAlicePassword, kT0 + 1, "198.51.100.9"));
  EXPECT_TRUE(Login("alice", kAlicePassword, kT0 + kSecond));
}

TEST_P(Auth, BootstrapHappensOnce) {
  auto again = auth_->EnsureBootstrapAdmin(kT0 + kSecond);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
  EXPECT_TRUE(root_.superuser);
  EXPECT_EQ(root_.kind, PrincipalKind::kServiceAccount);
  Reopen(FastOptions());  // a restart does not bootstrap again
  auto list = auth_->accounts().ListTokens(Root());
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(Auth, ManagementNeedsASuperuser) {
  auto alice = Login("alice", kAlicePassword);
  ASSERT_TRUE(alice);
  const Actor a{*alice, "192.0.2.7", kT0};
  EXPECT_EQ(auth_->accounts().CreateUser(a, "eve", "eves password 1").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->accounts().CreateServiceAccount(a, "svc").code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(auth_->accounts().ListTokens(a).has_value());
  EXPECT_EQ(auth_->accounts().DeleteAccount(Root(), root_.name).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->accounts().CreateUser(Root(), "alice", "another pw 1234").code(),
            StatusCode::kAlreadyExists);
}

SENSORDB_AUTH_BACKENDS(Auth);

}  // namespace
}  // namespace sensordb::server::testing
