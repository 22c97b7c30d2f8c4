// Passwords, API tokens and the stored records, as pure functions.
#include <gtest/gtest.h>

#include "audit/audit_entry.h"
#include "auth/api_token.h"
#include "auth/password.h"
#include "auth/records.h"
#include "sensordb/coding.h"

namespace sensordb::server {
namespace {

TEST(Password, HashVerifiesOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse battery staple", PasswordCost::Minimum());
  ASSERT_TRUE(hash.has_value()) << hash.error().ToString();
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapler"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse battery staple"));
}

TEST(Password, SaltMakesEqualPasswordsHashDifferently) {
  auto a = HashPassword("same password here", PasswordCost::Minimum());
  auto b = HashPassword("same password here", PasswordCost::Minimum());
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(Password, NeedsRehashWhenCostsChange) {
  auto hash = HashPassword("a long enough password", PasswordCost::Minimum());
  ASSERT_TRUE(hash);
  EXPECT_FALSE(PasswordNeedsRehash(*hash, PasswordCost::Minimum()));
  EXPECT_TRUE(PasswordNeedsRehash(*hash, PasswordCost::Interactive()));
}

TEST(Password, RejectsOversizedPasswordsAndTooLowCosts) {
  EXPECT_FALSE(HashPassword(std::string(kMaxPasswordBytes + 1, 'x'), PasswordCost::Minimum()));
  EXPECT_FALSE(HashPassword("password", PasswordCost{0, 0}));
}

TEST(ApiToken, GeneratedTokenParsesToTheSameHash) {
  auto t = GenerateToken();
  ASSERT_TRUE(t.has_value());
  const std::string_view text = t->text.view();
  ASSERT_EQ(text.size(), kTokenChars);
  EXPECT_TRUE(text.starts_with("sdb_" + t->id + "_"));
  EXPECT_TRUE(IsValidTokenId(t->id));
  auto p = ParseToken(text);
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  EXPECT_EQ(p->id, t->id);
  EXPECT_TRUE(TokenHashEquals(p->hash, t->hash));
}

TEST(ApiToken, TwoTokensDiffer) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id, b->id);
  EXPECT_NE(a->text.view(), b->text.view());
  EXPECT_FALSE(TokenHashEquals(a->hash, b->hash));
}

TEST(ApiToken, AChangedSecretOrIdHashesDifferently) {
  auto t = GenerateToken();
  ASSERT_TRUE(t);
  std::string text(t->text.view());
  text[20] = text[20] == 'A' ? 'B' : 'A';  // mid-secret (the last character has padding bits)
  auto p = ParseToken(text);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(TokenHashEquals(p->hash, t->hash));
}

TEST(ApiToken, NonCanonicalBase64IsMalformed) {
  // 43 base64url characters carry 258 bits for 32 bytes: the last one's two low bits must be 0.
  auto t = GenerateToken();
  ASSERT_TRUE(t);
  std::string text(t->text.view());
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  text.back() = alphabet[alphabet.find(text.back()) | 1];
  EXPECT_FALSE(ParseToken(text).has_value());
}

TEST(ApiToken, MalformedTokensAreRejectedWithoutEchoingThem) {
  auto t = GenerateToken();
  ASSERT_TRUE(t);
  const std::string good(t->text.view());
  for (std::string bad :
       {std::string(), good.substr(1), "xdb_" + good.substr(4), good + "A",
        good.substr(0, 12) + "-" + good.substr(13), good.substr(0, 13) + std::string(43, '!')}) {
    auto p = ParseToken(bad);
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().message().find(good.substr(13)), std::string::npos);
  }
}

TEST(ApiToken, RedactionRemovesTheSecretButKeepsThePrefix) {
  auto t = GenerateToken();
  ASSERT_TRUE(t);
  const std::string text(t->text.view());
  const std::string secret = text.substr(13);
  const std::string redacted = RedactTokens("used " + text + " and " + text.substr(0, 30) + ".");
  EXPECT_EQ(redacted.find(secret), std::string::npos);
  EXPECT_EQ(redacted.find(secret.substr(0, 10)), std::string::npos);
  EXPECT_NE(redacted.find("sdb_" + t->id + "_<redacted>"), std::string::npos);
  EXPECT_EQ(RedactTokens("no tokens here, sdb_ alone"), "no tokens here, sdb_ alone");
}

TEST(SecretString, MoveLeavesTheSourceEmpty) {
  SecretString a("a secret longer than the small-string buffer");
  SecretString b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the wipe is the contract
  EXPECT_EQ(b.view(), "a secret longer than the small-string buffer");
}

TEST(Records, RoundTripAndRejectTruncation) {
  AccountRecord a{"alice", PrincipalKind::kUser, true, true, "$argon2id$x", 5, -7};
  auto a2 = DecodeAccount(EncodeAccount(a));
  ASSERT_TRUE(a2.has_value());
  EXPECT_EQ(a2->name, "alice");
  EXPECT_TRUE(a2->superuser && a2->disabled);
  EXPECT_EQ(a2->updated_ns, -7);

  TokenRecord t{"abcdefgh", "svc", {}, 1, 2, 3, 4};
  t.hash[0] = 9;
  auto t2 = DecodeToken(EncodeToken(t));
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(t2->hash, t.hash);
  EXPECT_EQ(t2->revoked_ns, 4);

  GrantRecord g{42, "bob", Role::kAdmin, 11, "root"};
  auto g2 = DecodeGrant(EncodeGrant(g));
  ASSERT_TRUE(g2.has_value());
  EXPECT_EQ(g2->project_id, 42u);
  EXPECT_EQ(g2->role, Role::kAdmin);

  const std::string enc = EncodeToken(t);
  for (size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(DecodeToken(enc.substr(0, n)));
  EXPECT_FALSE(DecodeAccount(EncodeAccount(a) + "x"));
  a.password_changed_ns = 123;
  const std::string account = EncodeAccount(a);
  EXPECT_EQ(DecodeAccount(account)->password_changed_ns, 123);
  for (size_t n = 0; n < account.size(); ++n) EXPECT_FALSE(DecodeAccount(account.substr(0, n)));
}

// Accounts stored before password_changed_ns existed (version 1) still open, as never changed.
TEST(Records, Version1AccountsAreRead) {
  RecordWriter w;
  w.PutU8(1);
  w.PutString("alice");
  w.PutU8(static_cast<uint8_t>(PrincipalKind::kUser));
  w.PutU8(0);
  w.PutString("$argon2id$x");
  w.PutSigned(5);
  w.PutSigned(6);
  const std::string v1 = w.Release();
  auto a = DecodeAccount(v1);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->name, "alice");
  EXPECT_EQ(a->updated_ns, 6);
  EXPECT_EQ(a->password_changed_ns, 0);
  EXPECT_FALSE(DecodeAccount(v1 + "x"));
}

TEST(Records, AccountNamesAreRestricted) {
  EXPECT_TRUE(IsValidAccountName("alice"));
  EXPECT_TRUE(IsValidAccountName("svc.ingest-01_a"));
  EXPECT_FALSE(IsValidAccountName(""));
  EXPECT_FALSE(IsValidAccountName("-alice"));
  EXPECT_FALSE(IsValidAccountName("Alice"));
  EXPECT_FALSE(IsValidAccountName("a b"));
  EXPECT_FALSE(IsValidAccountName(std::string(65, 'a')));
}

TEST(AuditEntryFormat, RoundTripsAndChains) {
  AuditEvent e{123,
               "alice",
               "192.0.2.1",
               AuditAction::kGrantSet,
               0u,
               AuditOutcome::kSuccess,
               "bob: none -> reader"};
  const std::string body = EncodeAuditBody(7, e);
  const AuditHash prev{};
  const AuditHash h = ChainHash(prev, body);
  std::string parsed_body;
  auto d = DecodeAuditValue(EncodeAuditValue(prev, h, body), &parsed_body);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->seq, 7u);
  EXPECT_EQ(d->event.project, std::optional<uint32_t>(0));
  EXPECT_EQ(d->event.detail, e.detail);
  EXPECT_EQ(parsed_body, body);
  EXPECT_EQ(ChainHash(d->prev_hash, parsed_body), d->hash);
  AuditHash other = prev;
  other[31] = 1;
  EXPECT_NE(ChainHash(other, body), h);
}

}  // namespace
}  // namespace sensordb::server
