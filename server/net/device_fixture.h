// ServerFixture with device identity on: the DeviceRegistry, the native device listener (and,
// when asked, the MQTT one) on ephemeral 127.0.0.1 ports, the bootstrap admin as `Local()`, the
// projects a test names, and devices enrolled as a manufacturing line would (key and CSR made
// locally, certificate from the registry) that connect with their client certificate.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "devices/device_registry.h"
#include "identity/device_ca.h"
#include "net/server_fixture.h"

namespace sensordb::server::testing {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct DeviceFiles {
  std::string key, cert, serial;
};

class DeviceServerFixture : public ServerFixture {
 protected:
  // The projects SetUp creates, owned by the bootstrap admin; `mqtt`: start that listener too.
  explicit DeviceServerFixture(std::vector<std::string> projects, bool mqtt)
      : projects_(std::move(projects)), with_mqtt_(mqtt) {}

  // Ephemeral device ports; tests overriding Configure call this first.
  void Configure(ServerConfig& c) override {
    c.devices.port = 0;
    c.devices.mqtt_port = 0;
  }

  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    auto registry = DeviceRegistry::Open(*db_, *auth_);
    ASSERT_TRUE(registry.has_value()) << registry.error().ToString();
    registry_ = std::move(*registry);
    auto native = ClientListener::StartDevices(config_, *db_, *auth_, *registry_, false,
                                               &listener_->metrics());
    ASSERT_TRUE(native.has_value()) << native.error().ToString();
    native_ = std::move(*native);
    if (with_mqtt_) {
      auto mqtt = ClientListener::StartDevices(config_, *db_, *auth_, *registry_, true,
                                               &listener_->metrics());
      ASSERT_TRUE(mqtt.has_value()) << mqtt.error().ToString();
      mqtt_ = std::move(*mqtt);
    }
    auto admin = auth_->Authenticate(Credentials::Token(token_), "local", WallClockNs());
    ASSERT_TRUE(admin.has_value());
    admin_ = std::move(*admin);
    for (const std::string& name : projects_) {
      auto p = db_->CreateProject(name);
      ASSERT_TRUE(p.has_value());
      ASSERT_TRUE(auth_->ProjectCreated(Local(), p->id, p->name).ok());
    }
  }

  void TearDown() override {
    if (native_) native_->Stop();
    if (mqtt_) mqtt_->Stop();
    ServerFixture::TearDown();
  }

  Actor Local() { return Actor{admin_, "local", WallClockNs()}; }

  // Key and CSR as `sensordb device keygen` makes them, enrolled; the certificate file holds
  // the chain a device presents.
  DeviceFiles Enroll(const std::string& project, const std::string& device) {
    const std::string base = dir_.Sub(project + "-" + device + "-" + std::to_string(++files_));
    DeviceFiles f{base + ".key", base + ".crt", {}};
    EXPECT_TRUE(WriteDeviceKeyAndCsr(project, device, f.key, base + ".csr").ok());
    auto cert = registry_->Enroll(Local(), project, device, Slurp(base + ".csr"), 30);
    EXPECT_TRUE(cert.has_value()) << cert.error().ToString();
    if (!cert) return f;
    std::ofstream(f.cert) << cert->certificate_pem << cert->chain_pem;
    f.serial = cert->serial;
    return f;
  }

  // A TLS 1.3 connection to the native device stream with the device's certificate.
  std::unique_ptr<TestClient> DeviceClient(const DeviceFiles& f) {
    auto c = std::make_unique<TestClient>(config_.tls.ca_file, TLS1_3_VERSION, f.cert, f.key);
    const auto ec = c->Connect(native_->port());
    EXPECT_FALSE(ec) << ec.message();
    return c;
  }

  const std::vector<std::string> projects_;
  const bool with_mqtt_;
  std::unique_ptr<DeviceRegistry> registry_;
  std::unique_ptr<ClientListener> native_, mqtt_;
  Principal admin_;
  int files_ = 0;
};

}  // namespace sensordb::server::testing
