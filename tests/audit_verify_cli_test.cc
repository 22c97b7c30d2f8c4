// `sensordb audit verify` on a server's data directory after the audit log was edited on disk:
// an entry deleted, an entry's text altered (and re-sealed: someone holding the key), the newest
// entries cut off together with the head. The real CLI binary (SENSORDB_CLI) must exit 1 and
// name the entry at fault; on the untouched log it exits 0 and prints an anchor that a later
// verify checks.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "audit/audit_entry.h"
#include "audit/audit_log.h"
#include "sensordb/db.h"
#include "sensordbd/init.h"
#include "test_util.h"

namespace sensordb::server {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun Cli(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(SENSORDB_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class AuditVerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.auth.password_cost = PasswordCost::Minimum();
    auto report = InitServerDir(dir_.Sub("srv"), init);  // 4 audit entries
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    data_ = dir_.Sub("srv/data");
    key_ = dir_.Sub("srv/master.key");
  }
  std::string Args(const std::string& more) const {
    return "--data-dir " + data_ + " --key-file " + key_ + " audit " + more;
  }
  // Edits the system store as someone with the master key and the files would.
  void Edit(const std::function<void(SystemStore&)>& fn) {
    Options o;
    o.create_if_missing = false;
    o.key.key_file = key_;
    o.maintenance_interval_ms = 0;
    auto db = DB::Open(o, data_);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    fn((*db)->System());
  }

  sensordb::testing::TempDir dir_;
  std::string data_, key_;
};

TEST_F(AuditVerifyCli, IntactLogPassesAndItsAnchorIsCheckedLater) {
  CliRun r = Cli(Args("verify"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("audit log intact: 4 entries"), std::string::npos) << r.out;
  const size_t at = r.out.find("anchor ");
  ASSERT_NE(at, std::string::npos);
  const std::string anchor = r.out.substr(at + 7, r.out.find('\n', at) - at - 7);
  r = Cli(Args("verify --anchor " + anchor));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Cli(Args("list --json"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"action\": \"token-issued\""), std::string::npos) << r.out;
}

TEST_F(AuditVerifyCli, ADeletedEntryIsNamed) {
  Edit([](SystemStore& s) {
    const SystemStore::Op del{SystemStore::Op::Kind::kDeleteNumbered, SystemSpace::kAudit, {}, 2, {}};
    ASSERT_TRUE(s.Apply({&del, 1}).ok());
  });
  CliRun r = Cli(Args("verify"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("failed verification"), std::string::npos) << r.out;
  r = Cli(Args("verify --json"));
  EXPECT_NE(r.out.find("\"kind\": \"missing\", \"seq\": 2"), std::string::npos) << r.out;
}

TEST_F(AuditVerifyCli, AnAlteredEntryIsNamed) {
  Edit([](SystemStore& s) {
    auto v = s.GetNumbered(SystemSpace::kAudit, 3);
    ASSERT_TRUE(v.has_value() && v->has_value());
    std::string body;
    auto e = DecodeAuditValue(**v, &body);
    ASSERT_TRUE(e.has_value());
    // "service account metrics" -> "service account metricz", hashes left as they were.
    const size_t at = body.rfind("metrics");
    ASSERT_NE(at, std::string::npos);
    body[at + 6] = 'z';
    const SystemStore::Op put{SystemStore::Op::Kind::kPutNumbered, SystemSpace::kAudit, {}, 3,
                              EncodeAuditValue(e->prev_hash, e->hash, body)};
    ASSERT_TRUE(s.Apply({&put, 1}).ok());
  });
  const CliRun r = Cli(Args("verify --json"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("\"kind\": \"altered\", \"seq\": 3"), std::string::npos) << r.out;
}

TEST_F(AuditVerifyCli, ACutOffTailIsFoundByTheAnchor) {
  CliRun r = Cli(Args("verify"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const size_t at = r.out.find("anchor ");
  const std::string anchor = r.out.substr(at + 7, r.out.find('\n', at) - at - 7);
  // The last entry and the head rewritten to match the shorter chain: internally consistent.
  Edit([](SystemStore& s) {
    auto v = s.GetNumbered(SystemSpace::kAudit, 3);
    ASSERT_TRUE(v.has_value() && v->has_value());
    auto e = DecodeAuditValue(**v);
    ASSERT_TRUE(e.has_value());
    const AuditAnchor shorter{3, e->hash};
    const std::array<SystemStore::Op, 2> ops = {
        SystemStore::Op{SystemStore::Op::Kind::kDeleteNumbered, SystemSpace::kAudit, {}, 4, {}},
        SystemStore::Op{SystemStore::Op::Kind::kPutNamed, SystemSpace::kServer,
                        std::string(kAuditHeadName), 0, EncodeAuditAnchor(shorter)}};
    ASSERT_TRUE(s.Apply(ops).ok());
  });
  // The anchor file in the data directory still records 4 entries.
  r = Cli(Args("verify"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("rolled back"), std::string::npos) << r.out;
  r = Cli(Args("verify --anchor " + anchor));
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(AuditVerifyCli, AnOlderHeadPutBackAfterCuttingTheTailIsFound) {
  // Two more entries appended as the server would, then cut off and the head of before them
  // written back: a true old head, so the chain alone looks whole.
  Edit([](SystemStore& s) {
    auto old_head = s.GetNamed(SystemSpace::kServer, kAuditHeadName);
    ASSERT_TRUE(old_head.has_value() && old_head->has_value());
    {
      auto log = AuditLog::Open(s);
      ASSERT_TRUE(log.has_value()) << log.error().ToString();
      for (int i = 0; i < 2; ++i) {
        AuditEvent e;
        e.principal = "admin";
        e.address = "local";
        e.action = AuditAction::kLogin;
        ASSERT_TRUE((*log)->Append(e).has_value());
      }
    }
    for (uint64_t id : {uint64_t{5}, uint64_t{6}}) {
      const SystemStore::Op del{SystemStore::Op::Kind::kDeleteNumbered, SystemSpace::kAudit, {},
                                id, {}};
      ASSERT_TRUE(s.Apply({&del, 1}).ok());
    }
    ASSERT_TRUE(s.PutNamed(SystemSpace::kServer, kAuditHeadName, **old_head).ok());
  });
  CliRun r = Cli(Args("verify"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("rolled back"), std::string::npos) << r.out;
  r = Cli(Args("verify --json"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("\"kind\": \"rolled-back\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sensordb::server
