// No password or token text reaches a stored value, an audit detail or a file of the data
// directory, whatever the clients send.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/auth_test_util.h"

namespace sensordb::server::testing {
namespace {

constexpr std::string_view kPassword = "Sup3r-Secret-Passw0rd-ZQX";
constexpr std::string_view kWrongPassword = "Wr0ng-Guess-Passw0rd-KJV";

class NoSecrets : public AuthTest {
 protected:
  // Every value of every system space, concatenated.
  std::string AllStoredValues() {
    std::string all;
    for (SystemSpace s :
         {SystemSpace::kUsers, SystemSpace::kTokens, SystemSpace::kGrants, SystemSpace::kServer}) {
      EXPECT_TRUE(store_
                      ->ScanNamed(s,
                                  [&](std::string_view name, std::string_view value) {
                                    all.append(name).append("\n").append(value).append("\n");
                                    return true;
                                  })
                      .ok());
    }
    EXPECT_TRUE(store_
                    ->ScanNumbered(SystemSpace::kAudit, 0,
                                   [&](uint64_t, std::string_view v) {
                                     all.append(v).append("\n");
                                     return true;
                                   })
                    .ok());
    return all;
  }
};

TEST_P(NoSecrets, NoPasswordOrTokenInStoredValuesAuditOrFiles) {
  ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "dave", kPassword).ok());
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(Root(), "ingest").ok());
  auto token = auth_->accounts().IssueToken(Root(), "ingest", 0);
  ASSERT_TRUE(token.has_value());
  const std::string token_text(token->text.view());
  const std::string secret = token_text.substr(13);
  // Logins that succeed and fail, a password typed into the user field, a token pasted into
  // an audit detail, a wrong token, a password change.
  ASSERT_TRUE(Login("dave", kPassword));
  EXPECT_FALSE(Login("dave", kWrongPassword));
  EXPECT_FALSE(Login(kWrongPassword, kPassword));
  EXPECT_FALSE(Login("WrongGuessPassw0rdKJV", kPassword));  // not a valid name either
  ASSERT_TRUE(UseToken(token_text));
  std::string wrong_token = token_text;
  wrong_token[20] = wrong_token[20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(UseToken(wrong_token));
  ASSERT_TRUE(auth_
                  ->Record(Root(), AuditAction::kBackup, std::nullopt, AuditOutcome::kSuccess,
                           "operator pasted " + token_text + " here")
                  .ok());
  ASSERT_TRUE(auth_->accounts().ChangePassword(Root(), "dave", {}, kWrongPassword).ok());
  ASSERT_TRUE(bootstrap_token_.size() > 13);
  const std::vector<std::string> needles = {std::string(kPassword),
                                            std::string(kWrongPassword),
                                            token_text,
                                            secret,
                                            secret.substr(0, 16),
                                            "WrongGuessPassw0rdKJV",
                                            bootstrap_token_.substr(13),
                                            wrong_token.substr(13)};

  const std::string stored = AllStoredValues();
  for (const auto& n : needles) EXPECT_EQ(stored.find(n), std::string::npos) << n;
  ASSERT_TRUE(auth_
                  ->ReadAudit(Root(), 1, std::nullopt, 0,
                              [&](const AuditEntry& e) {
                                for (const auto& n : needles) {
                                  EXPECT_EQ(e.event.detail.find(n), std::string::npos) << n;
                                  EXPECT_EQ(e.event.principal.find(n), std::string::npos) << n;
                                }
                                return true;
                              })
                  .ok());

  if (GetParam() != Backend::kDb) return;
  auth_.reset();
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();
  size_t files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!f.is_regular_file()) continue;
    ++files;
    std::ifstream in(f.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& n : needles) {
      EXPECT_EQ(bytes.find(n), std::string::npos) << n << " in " << f.path();
    }
    EXPECT_EQ(bytes.find("dave"), std::string::npos) << "account name in " << f.path();
  }
  EXPECT_GT(files, 0u);
}

SENSORDB_AUTH_BACKENDS(NoSecrets);

}  // namespace
}  // namespace sensordb::server::testing
