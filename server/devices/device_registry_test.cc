// DeviceRegistry: enrolment, listing, revocation and who may do them; Admit's every refusal and
// its acceptance of renewed certificates; revocation watchers; state kept across reopen and key
// rotation; the audit trail.
#include "devices/device_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "auth/auth_test_util.h"
#include "identity/device_test_util.h"

namespace sensordb::server {
namespace {

using namespace testing;       // NOLINT: the auth test helpers
using namespace x509_testing;  // NOLINT: the device test helpers

constexpr int64_t kDay = 86'400 * kSecond;

class DeviceRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = DB::Open(sensordb::testing::TestOptions(), dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    OpenAuth();
    auto boot = auth_->EnsureBootstrapAdmin(kT0);
    ASSERT_TRUE(boot.has_value() && boot->has_value());
    auto root = auth_->Authenticate(Credentials::Token((*boot)->text.view()), "local", kT0);
    ASSERT_TRUE(root.has_value());
    root_ = *root;
    for (const char* p : {"green", "blue"}) {
      auto info = db_->CreateProject(p);
      ASSERT_TRUE(info.has_value());
      ASSERT_TRUE(auth_->ProjectCreated(Root(), info->id, p).ok());
    }
    for (auto [name, role] : {std::pair{"wendy", Role::kWriter}, std::pair{"rita", Role::kReader},
                              std::pair{"adam", Role::kAdmin}}) {
      ASSERT_TRUE(auth_->accounts().CreateUser(Root(), name, kAlicePassword).ok());
      ASSERT_TRUE(auth_->grants().SetGrant(Root(), Ref("green"), name, role).ok());
    }
    ASSERT_TRUE(auth_->accounts().CreateUser(Root(), "nora", kAlicePassword).ok());
    OpenRegistry();
  }

  void OpenAuth() {
    auto auth = AuthService::Open(db_->System(), FastOptions());
    ASSERT_TRUE(auth.has_value());
    auth_ = std::move(*auth);
  }
  void OpenRegistry() {
    registry_.reset();
    auto r = DeviceRegistry::Open(*db_, *auth_);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    registry_ = std::move(*r);
  }

  ProjectRef Ref(std::string_view name) { return {db_->GetProject(name)->id, name}; }
  Actor Root(int64_t now = kT0) { return {root_, "10.0.0.1", now}; }
  Actor As(const char* name, int64_t now = kT0) {
    people_.push_back(std::make_unique<Principal>());
    people_.back()->name = name;
    return {*people_.back(), "10.0.0.2", now};
  }

  Result<EnrolledCertificate> Enroll(std::string_view device, EVP_PKEY* key, uint32_t days = 30,
                                     std::string_view project = "green", int64_t now = kT0) {
    return registry_->Enroll(Root(now), project, device, MakeCsr(key), days);
  }
  EnrolledCertificate MustEnroll(std::string_view device, uint32_t days = 30,
                                 std::string_view project = "green", int64_t now = kT0) {
    Key key = EcKey();
    auto c = Enroll(device, key.get(), days, project, now);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? std::move(*c) : EnrolledCertificate{};
  }
  Status AdmitPem(std::string_view pem, int64_t now = kT0 + kSecond) {
    auto id = registry_->Admit(DerOfPem(pem), now);
    return id ? Status::Ok() : id.error();
  }
  std::vector<std::string> AuditActions() {
    std::vector<std::string> out;
    EXPECT_TRUE(auth_->audit()
                    .Read(1, [&](const AuditEntry& e) {
                      out.emplace_back(AuditActionName(e.event.action));
                      return true;
                    })
                    .ok());
    return out;
  }
  // A leaf for `device` of `project` signed with `ca_project`'s own CA key, unknown to the
  // registry unless the test says otherwise.
  std::vector<uint8_t> ForgeWithCaOf(std::string_view ca_project, std::vector<std::string> sans,
                                     int64_t not_after_s = kT0 / kSecond + 86400) {
    auto ca_pem = registry_->EnsureCa(Root(), ca_project);
    auto key_pem = db_->GetProjectSecret(ca_project, "device-ca.key");
    EXPECT_TRUE(ca_pem.has_value() && key_pem.has_value() && key_pem->has_value());
    Cert ca = ReadCert(*ca_pem);
    Key ca_key = ReadKey(**key_pem), leaf = EcKey();
    Forgery f;
    f.sans = std::move(sans);
    f.not_before_s = kT0 / kSecond - 60;
    f.not_after_s = not_after_s;
    return Forge(ca.get(), ca_key.get(), leaf.get(), f);
  }

  sensordb::testing::TempDir dir_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<DeviceRegistry> registry_;
  Principal root_;
  std::vector<std::unique_ptr<Principal>> people_;
};

TEST_F(DeviceRegistryTest, EnrolledCertificateIsAdmittedWithItsIdentity) {
  const auto cert = MustEnroll("dl-17");
  auto id = registry_->Admit(DerOfPem(cert.certificate_pem), kT0 + kSecond);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  EXPECT_EQ(id->project, "green");
  EXPECT_EQ(id->project_id, db_->GetProject("green")->id);
  EXPECT_EQ(id->device, "dl-17");
  EXPECT_EQ(id->serial, cert.serial);
  EXPECT_EQ(id->fingerprint, cert.fingerprint);
  EXPECT_EQ(id->not_after_ns, cert.not_after_ns);
  EXPECT_EQ(cert.chain_pem, *registry_->EnsureCa(Root(), "green"));
}

TEST_F(DeviceRegistryTest, EnrolRegistersTheDeviceAndListShowsCatalogFields) {
  ASSERT_TRUE(db_->RegisterDevice("green", {"dl-1", "TH-200", "2.1"}).ok());
  MustEnroll("dl-1");
  MustEnroll("dl-2");  // not in the catalog yet: registered by the enrolment
  auto devices = db_->ListDevices("green");
  ASSERT_TRUE(devices.has_value());
  EXPECT_EQ(devices->size(), 2u);
  auto list = registry_->ListCertificates(As("rita"), "green");
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].device, "dl-1");
  EXPECT_EQ((*list)[0].model, "TH-200");
  EXPECT_EQ((*list)[0].firmware_version, "2.1");
  EXPECT_EQ((*list)[0].issued_ns, kT0);
  auto one = registry_->ListCertificates(As("rita"), "green", "dl-2");
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].device, "dl-2");
}

TEST_F(DeviceRegistryTest, RefusedCsrChangesNothing) {
  Key weak = RsaKey(1024);
  const uint64_t gen = registry_->CaGeneration();
  auto r = registry_->Enroll(Root(), "green", "dl-9", MakeCsr(weak.get()), 30);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(db_->ListDevices("green")->empty());  // not registered
  EXPECT_EQ(registry_->CaGeneration(), gen);        // no CA made
  EXPECT_EQ(registry_->ListCertificates(Root(), "green")->size(), 0u);
}

TEST_F(DeviceRegistryTest, AdmitRefusesACertificateFromAnotherProjectsCa) {
  MustEnroll("dl-1");
  const auto forged = ForgeWithCaOf("blue", {"URI:sensordb://green/dl-1"});
  auto r = registry_->Admit(forged, kT0 + kSecond);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.error().message().find("not issued by the device CA"), std::string::npos);
}

TEST_F(DeviceRegistryTest, AdmitRefusesAnUnknownSerialEvenFromTheRightCa) {
  MustEnroll("dl-1");
  auto r = registry_->Admit(ForgeWithCaOf("green", {"URI:sensordb://green/dl-1"}), kT0 + kSecond);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unknown to the registry"), std::string::npos);
}

TEST_F(DeviceRegistryTest, AdmitRefusesMalformedAndDoubleSans) {
  MustEnroll("dl-1");
  for (auto sans : std::vector<std::vector<std::string>>{
           {},
           {"URI:https://green/dl-1"},
           {"URI:sensordb://green/dl-1,URI:sensordb://green/dl-2"},
           {"URI:sensordb://green/dl-1,DNS:dl-1.example"}}) {
    auto r = registry_->Admit(ForgeWithCaOf("green", sans), kT0 + kSecond);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  }
  EXPECT_FALSE(registry_->Admit(std::vector<uint8_t>{1, 2, 3}, kT0).has_value());
}

TEST_F(DeviceRegistryTest, AdmitRefusesExpiredAndNotYetValidCertificates) {
  const auto cert = MustEnroll("dl-1", 30);
  const Status expired = AdmitPem(cert.certificate_pem, kT0 + 31 * kDay);
  EXPECT_EQ(expired.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(expired.message().find("expired on 2026-01-31"), std::string::npos)
      << expired.message();
  EXPECT_NE(expired.message().find("device dl-1, project green"), std::string::npos);
  EXPECT_FALSE(AdmitPem(cert.certificate_pem, kT0 - kDay).ok());
}

TEST_F(DeviceRegistryTest, RevokedCertificateIsRefusedAndRenewalKeepsTheOtherValid) {
  const auto first = MustEnroll("dl-1");
  const auto second = MustEnroll("dl-1");  // renewal: both valid
  EXPECT_TRUE(AdmitPem(first.certificate_pem).ok());
  EXPECT_TRUE(AdmitPem(second.certificate_pem).ok());
  ASSERT_TRUE(registry_->RevokeCertificate(Root(), "green", "dl-1", first.serial).ok());
  EXPECT_TRUE(registry_->RevokeCertificate(Root(), "green", "dl-1", first.serial).ok());
  const Status revoked = AdmitPem(first.certificate_pem);
  EXPECT_NE(revoked.message().find("was revoked"), std::string::npos) << revoked.message();
  EXPECT_TRUE(AdmitPem(second.certificate_pem).ok());
  EXPECT_EQ(registry_->RevokeCertificate(Root(), "green", "dl-2", second.serial).code(),
            StatusCode::kNotFound);
}

TEST_F(DeviceRegistryTest, RevokedDeviceIsRefusedUntilEnrolledAgain) {
  const auto cert = MustEnroll("dl-1");
  ASSERT_TRUE(registry_->RevokeDevice(Root(), "green", "dl-1").ok());
  EXPECT_FALSE(AdmitPem(cert.certificate_pem).ok());
  auto list = registry_->ListCertificates(Root(), "green", "dl-1");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].device_revoked);
  EXPECT_NE((*list)[0].revoked_ns, 0);
  const auto fresh = MustEnroll("dl-1");
  EXPECT_TRUE(AdmitPem(fresh.certificate_pem).ok());
  EXPECT_FALSE(AdmitPem(cert.certificate_pem).ok());  // the old one stays revoked
  EXPECT_EQ(registry_->RevokeDevice(Root(), "green", "never").code(), StatusCode::kNotFound);
}

TEST_F(DeviceRegistryTest, WatchersHearOfEveryRevocationUntilUnwatched) {
  const auto cert = MustEnroll("dl-1");
  std::vector<std::string> heard;
  const uint64_t h = registry_->WatchRevocations(
      [&](uint32_t pid, std::string_view device, std::string_view serial) {
        heard.push_back(std::to_string(pid) + "/" + std::string(device) + "/" +
                        std::string(serial));
      });
  const std::string pid = std::to_string(db_->GetProject("green")->id);
  ASSERT_TRUE(registry_->RevokeCertificate(Root(), "green", "dl-1", cert.serial).ok());
  ASSERT_TRUE(registry_->RevokeDevice(Root(), "green", "dl-1").ok());
  ASSERT_TRUE(db_->DropProject("green").ok());
  ASSERT_TRUE(registry_->ProjectDropped(uint32_t(std::stoul(pid))).ok());
  EXPECT_EQ(heard, (std::vector<std::string>{pid + "/dl-1/" + cert.serial, pid + "/dl-1/",
                                             pid + "//"}));
  registry_->Unwatch(h);
  MustEnroll("dl-1", 30, "blue");
  ASSERT_TRUE(registry_->RevokeDevice(Root(), "blue", "dl-1").ok());
  EXPECT_EQ(heard.size(), 3u);
}

TEST_F(DeviceRegistryTest, DroppedProjectsCertificatesAreRefusedAndItsCaIsGone) {
  const auto cert = MustEnroll("dl-1");
  const uint64_t gen = registry_->CaGeneration();
  EXPECT_EQ(registry_->CaCertificates().size(), 1u);
  const uint32_t pid = db_->GetProject("green")->id;
  ASSERT_TRUE(db_->DropProject("green").ok());
  EXPECT_FALSE(AdmitPem(cert.certificate_pem).ok());  // even before the registry is told
  EXPECT_TRUE(registry_->CaCertificates().empty());
  ASSERT_TRUE(registry_->ProjectDropped(pid).ok());
  EXPECT_GT(registry_->CaGeneration(), gen);
  ASSERT_TRUE(db_->CreateProject("green").has_value());
  EXPECT_FALSE(AdmitPem(cert.certificate_pem).ok());
}

TEST_F(DeviceRegistryTest, CaIsMadeOnceAndCountsInTheGeneration) {
  const uint64_t gen = registry_->CaGeneration();
  auto a = registry_->EnsureCa(Root(), "green");
  auto b = registry_->EnsureCa(Root(), "green");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(registry_->CaGeneration(), gen + 1);
  EXPECT_EQ(registry_->CaCertificates(), std::vector<std::string>{*a});
}

TEST_F(DeviceRegistryTest, OnlyOwnersAndAdminsEnrolAndRevoke) {
  Key key = EcKey();
  const std::string csr = MakeCsr(key.get());
  EXPECT_EQ(registry_->Enroll(As("wendy"), "green", "dl", csr, 30).error().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->Enroll(As("rita"), "green", "dl", csr, 30).error().code(),
            StatusCode::kPermissionDenied);
  auto none = registry_->Enroll(As("nora"), "green", "dl", csr, 30);
  EXPECT_EQ(none.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.error().message(),
            "project 'green' does not exist or you have no role in it");  // as for no project
  // A reader may read the CA only once it exists.
  EXPECT_EQ(registry_->EnsureCa(As("rita"), "green").error().code(),
            StatusCode::kFailedPrecondition);
  auto cert = registry_->Enroll(As("adam"), "green", "dl", csr, 30);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_TRUE(registry_->EnsureCa(As("rita"), "green").has_value());
  EXPECT_TRUE(registry_->ListCertificates(As("wendy"), "green").has_value());
  EXPECT_EQ(registry_->ListCertificates(As("nora"), "green").error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->RevokeCertificate(As("wendy"), "green", "dl", cert->serial).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_->RevokeDevice(As("rita"), "green", "dl").code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(registry_->RevokeDevice(As("adam"), "green", "dl").ok());
}

TEST_F(DeviceRegistryTest, RevocationAndRecordsSurviveReopen) {
  const auto kept = MustEnroll("dl-1");
  const auto revoked = MustEnroll("dl-2");
  ASSERT_TRUE(registry_->RevokeCertificate(Root(), "green", "dl-2", revoked.serial).ok());
  registry_.reset();
  auth_.reset();
  db_.reset();
  auto db = DB::Open(sensordb::testing::TestOptions(), dir_.path());
  ASSERT_TRUE(db.has_value());
  db_ = std::move(*db);
  OpenAuth();
  OpenRegistry();
  EXPECT_TRUE(AdmitPem(kept.certificate_pem).ok());
  EXPECT_FALSE(AdmitPem(revoked.certificate_pem).ok());
  EXPECT_EQ(registry_->CaCertificates().size(), 1u);
}

TEST_F(DeviceRegistryTest, CaSurvivesProjectKeyRotationAndReencryption) {
  const auto before = MustEnroll("dl-1");
  ASSERT_TRUE(db_->RotateProjectKey("green").has_value());
  ASSERT_TRUE(db_->ReencryptProject("green").ok());
  const auto after = MustEnroll("dl-2");  // the CA key opens under the new data key
  EXPECT_EQ(before.chain_pem, after.chain_pem);
  OpenRegistry();
  EXPECT_TRUE(AdmitPem(before.certificate_pem).ok());
  EXPECT_TRUE(AdmitPem(after.certificate_pem).ok());
}

TEST_F(DeviceRegistryTest, LastSeenIsStoredAtMostOnceAMinute) {
  const auto cert = MustEnroll("dl-1");
  auto id = registry_->Admit(DerOfPem(cert.certificate_pem), kT0 + kSecond);
  ASSERT_TRUE(id.has_value());
  registry_->Seen(*id, kT0 + 2 * kSecond);
  registry_->Seen(*id, kT0 + 30 * kSecond);  // in memory only
  EXPECT_EQ((*registry_->ListCertificates(Root(), "green"))[0].last_seen_ns, kT0 + 30 * kSecond);
  OpenRegistry();
  EXPECT_EQ((*registry_->ListCertificates(Root(), "green"))[0].last_seen_ns, kT0 + 2 * kSecond);
  registry_->Seen(*id, kT0 + 90 * kSecond);
  OpenRegistry();
  EXPECT_EQ((*registry_->ListCertificates(Root(), "green"))[0].last_seen_ns, kT0 + 90 * kSecond);
}

TEST_F(DeviceRegistryTest, EveryChangeIsAudited) {
  const auto cert = MustEnroll("dl-1");
  ASSERT_TRUE(registry_->RevokeCertificate(Root(), "green", "dl-1", cert.serial).ok());
  ASSERT_TRUE(registry_->RevokeDevice(Root(), "green", "dl-1").ok());
  const auto actions = AuditActions();
  const std::vector<std::string> tail(actions.end() - 4, actions.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"device-ca-created", "device-enrolled",
                                            "device-cert-revoked", "device-revoked"}));
}

TEST_F(DeviceRegistryTest, CaKeyNeverLeavesTheProjectSecretInClear) {
  MustEnroll("dl-1");
  auto key = db_->GetProjectSecret("green", "device-ca.key");
  ASSERT_TRUE(key.has_value() && key->has_value());
  ASSERT_TRUE(db_->Compact().ok());
  // The base64 body of the PEM key, as it would appear on disk in clear.
  const std::string pem = **key;
  const size_t body = pem.find('\n') + 1;
  const std::string marker = pem.substr(body, 40);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(marker), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace sensordb::server
