// DeviceCa: the project CA's shape, what a signed device certificate holds (and what of the CSR
// it never copies), every hostile CSR refused, device URIs, leaf parsing and issuer checks, and
// `keygen` files.
#include "identity/device_ca.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "identity/device_test_util.h"
#include "test_util.h"

namespace sensordb {
namespace {

using namespace x509_testing;  // NOLINT: the device test helpers

constexpr int64_t kNow = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kDay = 86'400'000'000'000;

class DeviceCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateDeviceCa("green", kNow);
    ASSERT_TRUE(ca.has_value()) << ca.error().ToString();
    ca_ = std::move(*ca);
  }
  Result<DeviceCertificate> Sign(std::string_view csr, uint32_t days = 30,
                                 std::string_view device = "dl-17") {
    return SignDeviceCsr({"green", device, csr, days, kNow}, ca_.cert_pem, ca_.key_pem);
  }
  void ExpectRefused(std::string_view csr, std::string_view why) {
    auto r = Sign(csr);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
  }
  DeviceCaMaterial ca_;
};

TEST_F(DeviceCaTest, CaIsSelfSignedP256CaWithPathlenZeroForTenYears) {
  Cert ca = ReadCert(ca_.cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_pathlen(ca.get()), 0);
  EXPECT_EQ(X509_get_key_usage(ca.get()), uint32_t(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_verify(ca.get(), X509_get0_pubkey(ca.get())), 1);
  char group[32] = {0};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(X509_get0_pubkey(ca.get()), group, sizeof(group), &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  auto parsed = DeviceCaCert::FromPem(ca_.cert_pem);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_NEAR(double(parsed->not_after_ns() - kNow) / double(kDay), 3650.0, 0.01);
  Key key = ReadKey(ca_.key_pem.view());
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(ca.get(), key.get()), 1);
}

TEST_F(DeviceCaTest, SignsP256P384AndRsa2048Csrs) {
  Key keys[] = {EcKey("P-256"), EcKey("P-384"), RsaKey(2048)};
  for (const Key& key : keys) {
    auto cert = Sign(MakeCsr(key.get()));
    ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
    EXPECT_EQ(cert->project, "green");
    EXPECT_EQ(cert->device, "dl-17");
  }
}

TEST_F(DeviceCaTest, CertificateHoldsOnlyWhatTheServerSets) {
  Key key = EcKey();
  CsrOptions o;
  o.cn = "evil";
  o.extensions = {{NID_subject_alt_name, "URI:sensordb://other/x,DNS:evil.example"},
                  {NID_ext_key_usage, "serverAuth"}};
  auto cert = Sign(MakeCsr(key.get(), o), 30);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->project, "green");
  EXPECT_EQ(cert->device, "dl-17");
  EXPECT_EQ(cert->serial.size(), 32u);  // 128-bit serial, hex
  EXPECT_EQ(cert->fingerprint.size(), 64u);
  EXPECT_EQ(cert->not_after_ns - kNow, 30 * kDay);
  EXPECT_EQ(kNow - cert->not_before_ns, 300'000'000'000);
  Cert x = ReadCert(cert->pem);
  ASSERT_TRUE(x);
  char cn[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "dl-17");
  EXPECT_EQ(X509_check_ca(x.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), uint32_t(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(x.get()), uint32_t(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);
  auto ca = DeviceCaCert::FromPem(ca_.cert_pem);
  ASSERT_TRUE(ca.has_value());
  EXPECT_TRUE(ca->VerifyIssued(Der(x.get())).ok());
}

TEST_F(DeviceCaTest, LongDeviceNamesAreEncodedInTheUriAndCutInTheCommonName) {
  const std::string device = "Gerät 17/" + std::string(100, 'x');
  Key key = EcKey();
  auto cert = Sign(MakeCsr(key.get()), 30, device);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->device, device);
}

TEST_F(DeviceCaTest, LifetimeIsCutToTheCaExpiry) {
  Key key = EcKey();
  const int64_t later = kNow + 100 * kDay;
  auto cert = SignDeviceCsr({"green", "dl", MakeCsr(key.get()), 3650, later}, ca_.cert_pem,
                            ca_.key_pem);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  auto ca = DeviceCaCert::FromPem(ca_.cert_pem);
  EXPECT_EQ(cert->not_after_ns, ca->not_after_ns());
}

TEST_F(DeviceCaTest, RefusesACsrWithAWrongSignature) {
  Key key = EcKey(), other = EcKey();
  CsrOptions o;
  o.sign_with = other.get();
  ExpectRefused(MakeCsr(key.get(), o), "signature does not verify");
}

TEST_F(DeviceCaTest, RefusesACsrAskingToBeACa) {
  Key key = EcKey();
  CsrOptions ca;
  ca.extensions = {{NID_basic_constraints, "critical,CA:TRUE"}};
  ExpectRefused(MakeCsr(key.get(), ca), "CA:TRUE");
  CsrOptions signer;
  signer.extensions = {{NID_key_usage, "keyCertSign"}};
  ExpectRefused(MakeCsr(key.get(), signer), "keyCertSign");
}

TEST_F(DeviceCaTest, RefusesWeakAndUnsupportedKeys) {
  Key rsa = RsaKey(1024);
  ExpectRefused(MakeCsr(rsa.get()), "1024 bits");
  Key k1 = EcKey("secp256k1");
  ExpectRefused(MakeCsr(k1.get()), "secp256k1");
  Key ed = Ed25519Key();
  CsrOptions no_digest;
  no_digest.md = nullptr;
  ExpectRefused(MakeCsr(ed.get(), no_digest), "ED25519");
  Key dsa = DsaKey();
  ASSERT_TRUE(dsa);
  ExpectRefused(MakeCsr(dsa.get()), "DSA");
}

TEST_F(DeviceCaTest, RefusesGarbageEmptyAndOversizeCsrs) {
  ExpectRefused("", "not a PEM certificate request");
  ExpectRefused("hello", "not a PEM certificate request");
  ExpectRefused("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                "not a PEM certificate request");
  ExpectRefused(std::string(kMaxCsrBytes + 1, 'A'), "limit is 16384");
  Key key = EcKey();
  ExpectRefused(ca_.cert_pem, "not a PEM certificate request");  // a certificate, not a CSR
}

TEST_F(DeviceCaTest, RefusesBadLifetimesAndNames) {
  Key key = EcKey();
  const std::string csr = MakeCsr(key.get());
  EXPECT_FALSE(Sign(csr, 0).has_value());
  EXPECT_FALSE(Sign(csr, kMaxDeviceCertDays + 1).has_value());
  EXPECT_FALSE(Sign(csr, 30, "").has_value());
  EXPECT_FALSE(Sign(csr, 30, "a\nb").has_value());
}

TEST(DeviceUri, RoundTripsAndRefusesNonCanonicalForms) {
  const std::string uri = DeviceUri("green", "dl 17/ä~x");
  EXPECT_EQ(uri, "sensordb://green/dl%2017%2F%C3%A4~x");
  std::string p, d;
  ASSERT_TRUE(ParseDeviceUri(uri, &p, &d).ok());
  EXPECT_EQ(p, "green");
  EXPECT_EQ(d, "dl 17/ä~x");
  for (std::string_view bad :
       {"sensordb://green/dl%2f17", "sensordb://green/%64l", "sensordb://green/", "sensordb://green",
        "https://green/dl", "sensordb://Green/dl", "sensordb://green/a%2", "sensordb://green/a%zz",
        "sensordb://green/a/b", "sensordb://green/%0A"}) {
    EXPECT_FALSE(ParseDeviceUri(bad, &p, &d).ok()) << bad;
  }
}

class LeafTest : public DeviceCaTest {
 protected:
  std::vector<uint8_t> ForgeWith(const std::vector<std::string>& sans) {
    Cert ca = ReadCert(ca_.cert_pem);
    Key ca_key = ReadKey(ca_.key_pem.view()), leaf = EcKey();
    Forgery f;
    f.sans = sans;
    f.not_before_s = kNow / 1'000'000'000;
    f.not_after_s = f.not_before_s + 86400;
    return Forge(ca.get(), ca_key.get(), leaf.get(), f);
  }
};

TEST_F(LeafTest, ParsesTheIdentityOfAWellFormedLeaf) {
  auto leaf = ParseDeviceCertificateDer(ForgeWith({"URI:sensordb://green/dl-1"}));
  ASSERT_TRUE(leaf.has_value()) << leaf.error().ToString();
  EXPECT_EQ(leaf->device, "dl-1");
  EXPECT_EQ(leaf->serial, "4000000000000001");
}

TEST_F(LeafTest, RefusesMissingMalformedAndDoubleSans) {
  EXPECT_FALSE(ParseDeviceCertificateDer(ForgeWith({})).has_value());
  EXPECT_FALSE(ParseDeviceCertificateDer(ForgeWith({"DNS:dl-1.example"})).has_value());
  EXPECT_FALSE(ParseDeviceCertificateDer(ForgeWith({"URI:sensordb://green"})).has_value());
  auto two = ParseDeviceCertificateDer(
      ForgeWith({"URI:sensordb://green/dl-1,URI:sensordb://green/dl-2"}));
  ASSERT_FALSE(two.has_value());
  EXPECT_NE(two.error().message().find("2 subjectAltName entries"), std::string::npos);
  auto two_exts = ParseDeviceCertificateDer(
      ForgeWith({"URI:sensordb://green/dl-1", "URI:sensordb://green/dl-2"}));
  EXPECT_FALSE(two_exts.has_value());
  const std::vector<uint8_t> garbage = {0x30, 0x03, 0x02, 0x01, 0x01};
  EXPECT_FALSE(ParseDeviceCertificateDer(garbage).has_value());
  EXPECT_FALSE(ParseDeviceCertificateDer(std::vector<uint8_t>(kMaxCertificateBytes + 1, 0x30))
                   .has_value());
}

TEST_F(LeafTest, VerifyIssuedRefusesAnotherCa) {
  auto other = CreateDeviceCa("blue", kNow);
  ASSERT_TRUE(other.has_value());
  auto other_ca = DeviceCaCert::FromPem(other->cert_pem);
  auto own_ca = DeviceCaCert::FromPem(ca_.cert_pem);
  const auto leaf = ForgeWith({"URI:sensordb://blue/dl-1"});  // signed by green's CA
  EXPECT_TRUE(own_ca->VerifyIssued(leaf).ok());
  EXPECT_EQ(other_ca->VerifyIssued(leaf).code(), StatusCode::kPermissionDenied);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DeviceKeygen, WritesAnOwnerOnlyKeyAndASignableCsrAndNeverOverwrites) {
  sensordb::testing::TempDir dir;
  const std::string key = dir.Sub("dl.key"), csr = dir.Sub("dl.csr");
  ASSERT_TRUE(WriteDeviceKeyAndCsr("green", "dl 1", key, csr).ok());
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ca = CreateDeviceCa("green", kNow);
  ASSERT_TRUE(ca.has_value());
  auto cert =
      SignDeviceCsr({"green", "dl 1", ReadFile(csr), 30, kNow}, ca->cert_pem, ca->key_pem);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  Cert x = ReadCert(cert->pem);
  Key k = ReadKey(ReadFile(key));
  ASSERT_TRUE(x && k);
  EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);

  const std::string before = ReadFile(key);
  EXPECT_EQ(WriteDeviceKeyAndCsr("green", "dl 1", key, dir.Sub("new.csr")).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(key), before);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("new.csr")));
  EXPECT_EQ(WriteDeviceKeyAndCsr("green", "dl 1", dir.Sub("new.key"), csr).code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("new.key")));  // nothing left behind
}

}  // namespace
}  // namespace sensordb
