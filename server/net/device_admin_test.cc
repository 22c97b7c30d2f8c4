// The device identity requests over TLS (protocol/README.md "Device identity"): enrolment,
// listing, revocation and the CA end to end, who may send them, and the answer of a server
// without a registry.
#include <gtest/gtest.h>

#include "devices/device_registry.h"
#include "identity/device_test_util.h"
#include "net/admin_test_util.h"
#include "sensordb/protocol/device_codec.h"

namespace sensordb::server::testing {
namespace {

using namespace x509_testing;  // NOLINT: the device test helpers

class DeviceAdminTest : public AdminServerTest {
 protected:
  void SetUp() override {
    AdminServerTest::SetUp();
    if (HasFatalFailure()) return;
    auto registry = DeviceRegistry::Open(*db_, *auth_);
    ASSERT_TRUE(registry.has_value()) << registry.error().ToString();
    registry_ = std::move(*registry);
    // The fixture's listener has no registry: start one that does.
    listener_->Stop();
    auto listener = ClientListener::Start(config_, *db_, *auth_, nullptr, registry_.get());
    ASSERT_TRUE(listener.has_value()) << listener.error().ToString();
    listener_ = std::move(*listener);
    project_ = AddProject("green");
    for (auto [name, role] : {std::pair{"adam", Role::kAdmin}, std::pair{"wendy", Role::kWriter},
                              std::pair{"rita", Role::kReader}}) {
      tokens_[name] = AddServiceAccount(name);
      Grant(project_, name, role);
    }
    tokens_["nora"] = AddServiceAccount("nora");  // no role in green
  }
  void TearDown() override {
    AdminServerTest::TearDown();  // sessions end before the registry goes
    registry_.reset();
  }

  std::string Csr() {
    Key key = EcKey();
    return MakeCsr(key.get());
  }
  Result<protocol::EnrolledView> Enroll(TestClient& c, std::string_view device,
                                        std::string_view csr, std::optional<protocol::Frame>* keep) {
    *keep = Call(c, protocol::EncodeEnrollDevice(NextId(), {"green", device, csr, 30}));
    if (!*keep) return Err(Status::Internal("no reply"));
    if (const auto* m = (*keep)->As<wire::EnrollDeviceReply>()) {
      return protocol::DecodeEnrollDeviceReply(*m);
    }
    return Err(ErrorOf(*keep));
  }
  Status Done(TestClient& c, const protocol::OutFrame& request) {
    return Exchange(c, request, wire::Message::Done);
  }

  std::unique_ptr<DeviceRegistry> registry_;
  ProjectInfo project_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(DeviceAdminTest, EnrolListRevokeAndCaEndToEnd) {
  auto c = LoginToken(tokens_["adam"]);
  std::optional<protocol::Frame> frame;
  auto cert = Enroll(*c, "dl-17", Csr(), &frame);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  const std::string serial(cert->serial), pem(cert->certificate_pem);
  EXPECT_TRUE(registry_->Admit(DerOfPem(pem), Now()).has_value());

  auto ca = Call(*c, protocol::EncodeGetDeviceCa(NextId(), "green"));
  ASSERT_TRUE(ca && ca->type() == wire::Message::GetDeviceCaReply) << ErrorOf(ca).ToString();
  EXPECT_EQ(*protocol::DecodeGetDeviceCaReply(*ca->As<wire::GetDeviceCaReply>()), cert->chain_pem);

  auto list = Call(*c, protocol::EncodeListDeviceCerts(NextId(), {"green", ""}));
  ASSERT_TRUE(list && list->type() == wire::Message::ListDeviceCertsReply);
  auto certs = protocol::DecodeListDeviceCertsReply(*list->As<wire::ListDeviceCertsReply>());
  ASSERT_TRUE(certs.has_value());
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ((*certs)[0].serial, serial);
  EXPECT_EQ((*certs)[0].device, "dl-17");

  ASSERT_TRUE(Done(*c, protocol::EncodeRevokeDeviceCert(NextId(), {"green", "dl-17", serial})).ok());
  EXPECT_FALSE(registry_->Admit(DerOfPem(pem), Now()).has_value());
  ASSERT_TRUE(Done(*c, protocol::EncodeRevokeDevice(NextId(), {"green", "dl-17"})).ok());
  EXPECT_EQ(Done(*c, protocol::EncodeRevokeDevice(NextId(), {"green", "never"})).code(),
            StatusCode::kNotFound);
}

TEST_F(DeviceAdminTest, WritersAndReadersCannotEnrolOrRevoke) {
  auto admin = LoginToken(tokens_["adam"]);
  std::optional<protocol::Frame> frame;
  auto cert = Enroll(*admin, "dl-1", Csr(), &frame);
  ASSERT_TRUE(cert.has_value());
  const std::string serial(cert->serial);
  for (const char* who : {"wendy", "rita"}) {
    auto c = LoginToken(tokens_[who]);
    std::optional<protocol::Frame> f;
    auto refused = Enroll(*c, "dl-2", Csr(), &f);
    ASSERT_FALSE(refused.has_value()) << who;
    EXPECT_EQ(refused.error().code(), StatusCode::kPermissionDenied) << who;
    EXPECT_EQ(Done(*c, protocol::EncodeRevokeDeviceCert(NextId(), {"green", "dl-1", serial})).code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(Done(*c, protocol::EncodeRevokeDevice(NextId(), {"green", "dl-1"})).code(),
              StatusCode::kPermissionDenied);
    // Listing and reading the CA are for every role.
    auto list = Call(*c, protocol::EncodeListDeviceCerts(NextId(), {"green", "dl-1"}));
    EXPECT_TRUE(list && list->type() == wire::Message::ListDeviceCertsReply) << who;
    auto ca = Call(*c, protocol::EncodeGetDeviceCa(NextId(), "green"));
    EXPECT_TRUE(ca && ca->type() == wire::Message::GetDeviceCaReply) << who;
  }
}

TEST_F(DeviceAdminTest, NoGrantIsAnsweredLikeNoProject) {
  auto c = LoginToken(tokens_["nora"]);
  std::optional<protocol::Frame> f;
  auto hidden = Enroll(*c, "dl-1", Csr(), &f);
  ASSERT_FALSE(hidden.has_value());
  EXPECT_EQ(hidden.error().code(), StatusCode::kNotFound);
  auto list = Call(*c, protocol::EncodeListDeviceCerts(NextId(), {"green", ""}));
  const Status listed = ErrorOf(list);
  auto none = Call(*c, protocol::EncodeListDeviceCerts(NextId(), {"nope", ""}));
  EXPECT_EQ(listed.code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrorOf(none).code(), StatusCode::kNotFound);
  auto ca = Call(*c, protocol::EncodeGetDeviceCa(NextId(), "green"));
  EXPECT_EQ(ErrorOf(ca).code(), StatusCode::kNotFound);
  EXPECT_EQ(Done(*c, protocol::EncodeRevokeDevice(NextId(), {"green", "dl-1"})).code(),
            StatusCode::kNotFound);
}

TEST_F(DeviceAdminTest, HostileCsrIsInvalidArgumentAndTheSessionGoesOn) {
  auto c = LoginToken(tokens_["adam"]);
  std::optional<protocol::Frame> f;
  Key weak = RsaKey(1024);
  auto r = Enroll(*c, "dl-1", MakeCsr(weak.get()), &f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  auto big = Enroll(*c, "dl-1", std::string(protocol::kMaxCsrPemBytes + 1, 'A'), &f);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(StillUsable(*c));
}

TEST_F(DeviceAdminTest, DroppingTheProjectForgetsItsDevices) {
  auto c = LoginToken(token_);
  std::optional<protocol::Frame> f;
  auto cert = Enroll(*c, "dl-1", Csr(), &f);
  ASSERT_TRUE(cert.has_value());
  const std::string pem(cert->certificate_pem);
  int heard = 0;
  registry_->WatchRevocations([&](uint32_t, std::string_view, std::string_view) { ++heard; });
  auto dropped = Call(*c, protocol::EncodeDropProject(NextId(), "green"));
  ASSERT_TRUE(dropped && dropped->type() == wire::Message::DropProjectReply) << ErrorOf(dropped).ToString();
  EXPECT_EQ(heard, 1);
  EXPECT_TRUE(registry_->CaCertificates().empty());
  EXPECT_FALSE(registry_->Admit(DerOfPem(pem), Now()).has_value());
}

class NoRegistryTest : public AdminServerTest {};

TEST_F(NoRegistryTest, DeviceRequestsFailWithoutARegistry) {
  auto c = LoginToken(token_);
  auto r = Call(*c, protocol::EncodeGetDeviceCa(NextId(), "green"));
  EXPECT_EQ(ErrorOf(r).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(StillUsable(*c));
}

}  // namespace
}  // namespace sensordb::server::testing
