// Helpers of the server_core tests: an in-memory SystemStore, and a fixture that runs each test
// against both it and the real SystemStore of a DB opened with TestOptions().
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "auth/auth_service.h"
#include "sensordb/db.h"
#include "test_util.h"

namespace sensordb::server::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kT0 = 1'767'225'600 * kSecond;  // 2026-01-01T00:00:00Z
inline constexpr std::string_view kAlicePassword = "correct horse battery staple";

// Everything in std::maps; Apply is all-or-nothing trivially (it cannot fail).
class FakeSystemStore final : public SystemStore {
 public:
  Status Apply(std::span<const Op> ops) override {
    std::lock_guard lock(mu_);
    for (const Op& op : ops) {
      const auto s = static_cast<uint8_t>(op.space);
      switch (op.kind) {
        case Op::Kind::kPutNamed:
          named_[{s, op.name}] = op.value;
          break;
        case Op::Kind::kDeleteNamed:
          named_.erase({s, op.name});
          break;
        case Op::Kind::kPutNumbered:
          numbered_[{s, op.id}] = op.value;
          break;
        case Op::Kind::kDeleteNumbered:
          numbered_.erase({s, op.id});
          break;
      }
    }
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetNamed(SystemSpace space, std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = named_.find({static_cast<uint8_t>(space), std::string(name)});
    if (it == named_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<std::optional<std::string>> GetNumbered(SystemSpace space, uint64_t id) override {
    std::lock_guard lock(mu_);
    auto it = numbered_.find({static_cast<uint8_t>(space), id});
    if (it == numbered_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status ScanNamed(SystemSpace space,
                   const std::function<bool(std::string_view, std::string_view)>& fn) override {
    for (const auto& [k, v] : Snapshot(named_, space)) {
      if (!fn(k.second, v)) break;
    }
    return Status::Ok();
  }
  Status ScanNumbered(SystemSpace space, uint64_t from_id,
                      const std::function<bool(uint64_t, std::string_view)>& fn) override {
    for (const auto& [k, v] : Snapshot(numbered_, space)) {
      if (k.second >= from_id && !fn(k.second, v)) break;
    }
    return Status::Ok();
  }
  Result<uint64_t> LastNumbered(SystemSpace space) override {
    uint64_t last = 0;
    for (const auto& [k, v] : Snapshot(numbered_, space)) last = k.second;
    return last;
  }
  Status PutFileRecord(std::string_view name, std::string_view value) override {
    std::lock_guard lock(mu_);
    files_[std::string(name)] = std::string(value);
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetFileRecord(std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(std::string(name));
    if (it == files_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  // Test hook: a file record deleted by hand.
  void DeleteFileRecord(std::string_view name) {
    std::lock_guard lock(mu_);
    files_.erase(std::string(name));
  }

 private:
  template <typename K>
  std::map<std::pair<uint8_t, K>, std::string> Snapshot(
      const std::map<std::pair<uint8_t, K>, std::string>& m, SystemSpace space) {
    std::lock_guard lock(mu_);
    std::map<std::pair<uint8_t, K>, std::string> out;
    for (const auto& [k, v] : m) {
      if (k.first == static_cast<uint8_t>(space)) out.emplace(k, v);
    }
    return out;
  }

  std::mutex mu_;
  std::map<std::pair<uint8_t, std::string>, std::string> named_;
  std::map<std::pair<uint8_t, uint64_t>, std::string> numbered_;
  std::map<std::string, std::string> files_;
};

enum class Backend { kFake, kDb };
inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kFake ? "Fake" : "RealDb";
}

inline AuthOptions FastOptions() {
  AuthOptions o;
  o.password_cost = PasswordCost::Minimum();
  return o;
}

// A SystemStore (fake or a real DB's), an AuthService over it with the bootstrap superuser
// authenticated as root(), and a user "alice".
class AuthTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Reopen(FastOptions()); }

  void Reopen(AuthOptions options) {
    auth_.reset();
    if (GetParam() == Backend::kDb) {
      if (!db_) {
        auto db = DB::Open(sensordb::testing::TestOptions(), dir_.path());
        ASSERT_TRUE(db.has_value()) << db.error().ToString();
        db_ = std::move(*db);
      }
      store_ = &db_->System();
    } else {
      store_ = &fake_;
    }
    auto s = AuthService::Open(*store_, std::move(options));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    auth_ = std::move(*s);
    auto boot = auth_->EnsureBootstrapAdmin(kT0);
    ASSERT_TRUE(boot.has_value()) << boot.error().ToString();
    if (boot->has_value()) bootstrap_token_ = std::string((*boot)->text.view());
    auto root = auth_->Authenticate(Credentials::Token(bootstrap_token_), "local", kT0);
    ASSERT_TRUE(root.has_value()) << root.error().message;
    root_ = *root;
    if (!alice_created_) {
      ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "alice", kAlicePassword).ok());
      alice_created_ = true;
    }
  }

  Actor Root(int64_t now = kT0) { return {root_, "10.0.0.1", now}; }
  AuthResult Login(std::string_view user, std::string_view password, int64_t now = kT0,
                   std::string_view peer = "192.0.2.7") {
    return auth_->Authenticate(Credentials::Password(user, password), peer, now);
  }
  AuthResult UseToken(std::string_view token, int64_t now = kT0,
                      std::string_view peer = "192.0.2.7") {
    return auth_->Authenticate(Credentials::Token(token), peer, now);
  }

  sensordb::testing::TempDir dir_;
  std::unique_ptr<DB> db_;
  FakeSystemStore fake_;
  SystemStore* store_ = nullptr;
  std::unique_ptr<AuthService> auth_;
  std::string bootstrap_token_;  // test-only copy, to log in again after Reopen
  Principal root_;
  bool alice_created_ = false;
};

#define SENSORDB_AUTH_BACKENDS(Suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                               \
                           ::testing::Values(::sensordb::server::testing::Backend::kFake, \
                                             ::sensordb::server::testing::Backend::kDb),  \
                           ::sensordb::server::testing::BackendName)

}  // namespace sensordb::server::testing
