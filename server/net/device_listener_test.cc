// The device listeners end to end (docs/DEVICES.md): devices enrolled through the registry with
// keys and CSRs made as a manufacturing line would, the native device stream with a TLS 1.3
// client certificate, MQTT with the real `mosquitto_pub` (Debian mosquitto-clients), and
// `openssl s_client` for what must be refused: no client certificate, TLS 1.2, a certificate
// that is revoked, expired, of another project, or self-signed. Revocation closes a live session.
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "devices/device_registry.h"
#include "identity/device_ca.h"
#include "net/device_fixture.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {
namespace {

using testing::DeviceFiles;
using testing::DeviceServerFixture;
using testing::Slurp;
using testing::TestClient;

constexpr int64_t kT0 = 1'767'225'600'000'000'000;

struct Shell {
  int exit_code = -1;
  std::string out;
};

// Runs `command` (stdin from /dev/null, stderr merged), bounded by `timeout 20`.
Shell Sh(const std::string& command) {
  Shell r;
  FILE* p = ::popen(("timeout 20 " + command + " </dev/null 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class DeviceListenerTest : public DeviceServerFixture {
 protected:
  DeviceListenerTest() : DeviceServerFixture({"farm", "other"}, /*mqtt=*/true) {}

  void Configure(ServerConfig& c) override {
    DeviceServerFixture::Configure(c);
    c.limits.max_frame_bytes = LimitsConfig{}.max_frame_bytes;  // as shipped: 16 MiB
  }

  std::string Pub(const DeviceFiles& f, const std::string& topic, const std::string& message,
                  int qos = 1) {
    return "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(mqtt_->port()) + " --cafile " +
           config_.tls.ca_file + " --cert " + f.cert + " --key " + f.key +
           " --tls-version tlsv1.3 -i pub-" + std::to_string(++files_) + " -q " +
           std::to_string(qos) + " -t '" + topic + "' -m '" + message + "'";
  }

  uint64_t Points(const std::string& project, const std::string& device = {}) {
    uint64_t n = 0;
    const Status s = db_->QueryRaw(project, {device, ""}, {}, [&](const SeriesRef&, const PointRun& r) {
      n += r.size();
      return true;
    });
    if (s.code() == StatusCode::kNotFound) return 0;  // a device that never wrote
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  // Polls (bounded: 2 s) until the refusal counter for `reason` reaches `n`; its value.
  double WaitRefusals(const std::string& reason, double n) {
    double v = Refusals(reason);
    for (int i = 0; i < 200 && v < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      v = Refusals(reason);
    }
    return v;
  }

  double Refusals(const std::string& reason) {
    return ::sensordb::server::testing::MetricValue(
        listener_->metrics().Render({}), "sensordb_refusals_total{reason=\"" + reason + "\"}");
  }
};

TEST_F(DeviceListenerTest, ADeviceWritesItsOwnSeriesOverTheNativeStreamAndNothingElse) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  auto c = DeviceClient(dl1);
  ASSERT_TRUE(c->Send(protocol::EncodeHello(1, {})));
  auto hello = c->Receive();
  ASSERT_TRUE(hello && hello->type() == wire::Message::HelloReply) << ErrorOf(hello).ToString();

  std::vector<int64_t> ts(1000);
  std::iota(ts.begin(), ts.end(), kT0);
  std::vector<double> v(ts.size(), 7.5);
  WriteBatch own;
  own.AddFloat64("dl-1", "soil/moisture", ts, v);
  auto w = protocol::EncodeWrite(2, "farm", own);
  ASSERT_TRUE(w && c->Send(*w));
  auto ack = c->Receive();
  ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  EXPECT_EQ(Points("farm", "dl-1"), 1000u);

  // A batch with one column of another device is refused whole.
  WriteBatch sneaky;
  sneaky.AddFloat64("dl-1", "soil/moisture", ts, v);
  sneaky.AddFloat64("dl-2", "soil/moisture", ts, v);
  w = protocol::EncodeWrite(3, "farm", sneaky);
  ASSERT_TRUE(w && c->Send(*w));
  EXPECT_EQ(ErrorOf(c->Receive()).code(), StatusCode::kPermissionDenied);
  // Labels: its own, yes; another device's refuse the batch whole (docs/LABELS.md).
  using Labels = std::vector<std::pair<std::string, std::string>>;
  WriteBatch labelled;
  labelled.AddFloat64("dl-1", "soil/moisture", ts, v);
  labelled.SetLabels("dl-1", std::span(ts.data(), 1), Labels{{"field", "north"}});
  w = protocol::EncodeWrite(3, "farm", labelled);
  ASSERT_TRUE(w && c->Send(*w));
  ack = c->Receive();
  ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  labelled.SetLabels("dl-2", std::span(ts.data(), 1), Labels{{"field", "south"}});
  w = protocol::EncodeWrite(3, "farm", labelled);
  ASSERT_TRUE(w && c->Send(*w));
  EXPECT_EQ(ErrorOf(c->Receive()).code(), StatusCode::kPermissionDenied);
  auto labels = db_->ListDeviceLabels("farm", "");
  ASSERT_TRUE(labels);
  for (const DeviceLabels& d : *labels) {
    if (d.device == "dl-1") {
      ASSERT_EQ(d.labels.size(), 1u);
      EXPECT_EQ(d.labels[0].entries.at(0).value, "north");
    } else {
      EXPECT_TRUE(d.labels.empty()) << d.device;  // nothing of the refused batch
    }
  }
  // Another project: the same answer as a project that does not exist.
  w = protocol::EncodeWrite(4, "other", own);
  ASSERT_TRUE(w && c->Send(*w));
  EXPECT_EQ(ErrorOf(c->Receive()).code(), StatusCode::kNotFound);
  // No Auth, no queries, no administration on the device port.
  ASSERT_TRUE(c->Send(protocol::EncodeAuth(5, {.token = token_})));
  EXPECT_FALSE(ErrorOf(c->Receive()).ok());
  protocol::QueryRequest q;
  q.project = "farm";
  ASSERT_TRUE(c->Send(protocol::EncodeQuery(6, q)));
  EXPECT_EQ(ErrorOf(c->Receive()).code(), StatusCode::kPermissionDenied);
  // Its own configuration is readable.
  ASSERT_TRUE(c->Send(protocol::EncodeListChannels(7, {"farm", "dl-1"})));
  auto channels = c->Receive();
  ASSERT_TRUE(channels && channels->type() == wire::Message::ListChannelsReply)
      << ErrorOf(channels).ToString();
  EXPECT_EQ(Points("farm"), 1000u);
}

TEST_F(DeviceListenerTest, MosquittoPubWritesLineProtocolAndJsonAtQos1) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  Shell r = Sh(Pub(dl1, "sensordb/farm/dl-1/lp",
                    "climate air_temp=21.5,humidity=48 1767225600000000000\n"
                    "climate air_temp=21.7 1767225660000000000"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Sh(Pub(dl1, "sensordb/farm/dl-1/json",
              "{\"ts\": 1767225720000000000, \"climate.air_temp\": 21.9}"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Sh(Pub(dl1, "sensordb/farm/dl-1/lp", "climate air_temp=22.0 1767225780000000000", 0));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // QoS 0 has no acknowledgement: wait (bounded) for the point to land.
  for (int i = 0; i < 200 && Points("farm", "dl-1") < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Points("farm", "dl-1"), 5u);
}

// Issue 12, defect 8: QoS 0 has no acknowledgement, so a publish the server has read is the
// device's last word on it. A burst followed by a clean DISCONNECT (mosquitto_pub -l at the end
// of its input) must be stored whole, and the DISCONNECT is a normal end, not a violation.
TEST_F(DeviceListenerTest, Qos0BurstThenDisconnectIsStoredWhole) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  constexpr int kBurst = 200;
  const std::string lines = dir_.Sub("burst.lp");
  {
    std::ofstream out(lines);
    for (int i = 0; i < kBurst; ++i) {
      out << "burst v=" << i << " " << kT0 + int64_t(i) * 1'000'000'000 << "\n";
    }
  }
  const double violations = Refusals("protocol-violation");
  // -l: one message per input line, then DISCONNECT (stdin from the file, not /dev/null).
  const Shell r = Sh("sh -c \"mosquitto_pub -h 127.0.0.1 -p " + std::to_string(mqtt_->port()) +
                     " --cafile " + config_.tls.ca_file + " --cert " + dl1.cert + " --key " +
                     dl1.key + " --tls-version tlsv1.3 -i burst -q 0 -t sensordb/farm/dl-1/lp" +
                     " -l < " + lines + "\"");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // The server is done with the connection when the session has gone (bounded: 10 s).
  for (int i = 0; i < 1000 && mqtt_->DeviceSessions() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(mqtt_->DeviceSessions(), 0u);
  std::vector<double> values;
  ASSERT_TRUE(db_->QueryRaw("farm", {"dl-1", ""}, {}, [&](const SeriesRef&, const PointRun& run) {
                   values.insert(values.end(), run.f64.begin(), run.f64.end());
                   return true;
                 }).ok());
  ASSERT_EQ(values.size(), size_t(kBurst));
  for (int i = 0; i < kBurst; ++i) EXPECT_EQ(values[size_t(i)], double(i)) << "point " << i;
  EXPECT_EQ(Refusals("protocol-violation"), violations);
}

// A payload is parsed up to 1 MiB; a packet that cannot fit one is refused from its fixed header
// (bad-frame), not buffered whole (limits.max_frame_bytes, 16 MiB) and then refused.
TEST_F(DeviceListenerTest, MqttPacketLimitIsThePayloadLimit) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  const std::string file = dir_.Sub("big.lp");
  {
    std::ofstream out(file);
    for (int i = 0; out.tellp() < 1536 * 1024; ++i) {
      out << "climate air_temp=21.5 " << (1767225600000000000LL + i) << "\n";
    }
  }
  const double before = Refusals("bad-frame");
  Shell r = Sh("mosquitto_pub -h 127.0.0.1 -p " + std::to_string(mqtt_->port()) + " --cafile " +
               config_.tls.ca_file + " --cert " + dl1.cert + " --key " + dl1.key +
               " --tls-version tlsv1.3 -i big -q 1 -t sensordb/farm/dl-1/lp -f " + file);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(WaitRefusals("bad-frame", before + 1), before + 1);
  EXPECT_EQ(Points("farm", "dl-1"), 0u);
}

TEST_F(DeviceListenerTest, CleanDisconnectIsNotAViolation) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  const double violations = Refusals("protocol-violation");
  const Shell r = Sh(Pub(dl1, "sensordb/farm/dl-1/lp", "m v=1 1767225600000000000"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (int i = 0; i < 1000 && mqtt_->DeviceSessions() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(mqtt_->DeviceSessions(), 0u);
  EXPECT_EQ(Refusals("protocol-violation"), violations);
  EXPECT_EQ(Points("farm", "dl-1"), 1u);
}

TEST_F(DeviceListenerTest, NoPayloadTrickWritesAnotherDevicesSeries) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  Enroll("farm", "dl-2");
  // Another device's topic, a device tag naming another device, another project's topic.
  for (const auto& [topic, payload] : std::vector<std::pair<std::string, std::string>>{
           {"sensordb/farm/dl-2/lp", "climate air_temp=1 1767225600000000000"},
           {"sensordb/farm/dl-1/lp", "climate,device=dl-2 air_temp=1 1767225600000000000"},
           {"sensordb/other/dl-1/lp", "climate air_temp=1 1767225600000000000"},
           {"sensordb/farm/dl-1/json", "{\"ts\": 1767225600000000000, \"device\": \"dl-2\"}"}}) {
    Sh(Pub(dl1, topic, payload));  // mosquitto_pub may or may not notice the close
  }
  EXPECT_EQ(Points("farm", "dl-2"), 0u);
  EXPECT_EQ(Points("other"), 0u);
  // Subscribing is refused too (SUBACK 0x80): mosquitto_sub reports it and gets nothing.
  const Shell sub = Sh("mosquitto_sub -h 127.0.0.1 -p " + std::to_string(mqtt_->port()) +
                        " --cafile " + config_.tls.ca_file + " --cert " + dl1.cert + " --key " +
                        dl1.key + " --tls-version tlsv1.3 -t 'sensordb/#' -C 1 -W 2");
  EXPECT_NE(sub.out.find("denied"), std::string::npos) << sub.out;
}

TEST_F(DeviceListenerTest, RevokedExpiredForeignAndSelfSignedCertificatesAreRefused) {
  const DeviceFiles good = Enroll("farm", "dl-1");
  const DeviceFiles revoked = Enroll("farm", "dl-3");
  ASSERT_TRUE(registry_->RevokeCertificate(Local(), "farm", "dl-3", revoked.serial).ok());
  // A certificate of project "other" whose URI SAN names "farm"'s device is impossible to get
  // from the server (it sets the SAN); one of "other"'s own devices must not reach "farm".
  const DeviceFiles foreign = Enroll("other", "dl-1");

  // Expired: signed with farm's CA key, valid for one day three days ago.
  DeviceFiles expired{dir_.Sub("exp.key"), dir_.Sub("exp.crt"), {}};
  ASSERT_TRUE(WriteDeviceKeyAndCsr("farm", "dl-4", expired.key, dir_.Sub("exp.csr")).ok());
  auto ca_key = db_->GetProjectSecret("farm", "device-ca.key");
  auto ca_cert = db_->GetProjectSecret("farm", "device-ca.crt");
  ASSERT_TRUE(ca_key && *ca_key && ca_cert && *ca_cert);
  const std::string csr = Slurp(dir_.Sub("exp.csr"));
  CsrSigning signing{"farm", "dl-4", csr, 1,
                     WallClockNs() - 3 * 86'400'000'000'000LL};
  auto old = SignDeviceCsr(signing, **ca_cert, PrivateKeyPem(std::string(**ca_key)));
  ASSERT_TRUE(old.has_value()) << old.error().ToString();
  std::ofstream(expired.cert) << old->pem << **ca_cert;

  // Self-signed, with a URI SAN of farm's device.
  DeviceFiles self{dir_.Sub("self.key"), dir_.Sub("self.crt"), {}};
  ASSERT_EQ(Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                "-subj /CN=dl-1 -addext subjectAltName=URI:sensordb://farm/dl-1 -keyout " +
                self.key + " -out " + self.cert).exit_code, 0);

  EXPECT_EQ(Sh(Pub(good, "sensordb/farm/dl-1/lp", "m v=1 1767225600000000000")).exit_code, 0);
  for (const DeviceFiles* f : std::vector<const DeviceFiles*>{&revoked, &expired, &foreign, &self}) {
    const std::string device = f == &revoked ? "dl-3" : f == &expired ? "dl-4" : "dl-1";
    const Shell r = Sh(Pub(*f, "sensordb/farm/" + device + "/lp", "m v=2 1767225600000000000"));
    EXPECT_NE(r.exit_code, 0) << f->cert << ": " << r.out;
  }
  EXPECT_EQ(Points("farm"), 1u);  // only the good device's point
  EXPECT_EQ(Points("other"), 0u);
  // Revoked and expired and self-signed fail admission or the handshake; the foreign device is
  // admitted (to its own project) and its publish to farm's topic ends the session.
  // The counters move when the server has finished with each connection: poll (bounded).
  for (int i = 0; i < 200 && Refusals("device-refused") + Refusals("tls-handshake-failed") < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(Refusals("device-refused") + Refusals("tls-handshake-failed"), 3);
  EXPECT_GE(WaitRefusals("protocol-violation", 1), 1);
}

TEST_F(DeviceListenerTest, OpensslWithoutACertificateWithTls12OrAnotherCaIsRefused) {
  const DeviceFiles good = Enroll("farm", "dl-1");
  const std::string connect = "openssl s_client -connect 127.0.0.1:" +
                              std::to_string(native_->port()) + " -CAfile " + config_.tls.ca_file;
  // The good certificate completes a TLS 1.3 handshake (and the session stays up).
  Shell r = Sh(connect + " -cert " + good.cert + " -key " + good.key + " -brief");
  EXPECT_NE(r.out.find("TLSv1.3"), std::string::npos) << r.out;
  // No certificate: the server requires one and ends the handshake (in TLS 1.3 the client
  // may learn it only after its side is done, so the server's counter is the evidence).
  const double failed = Refusals("tls-handshake-failed");
  r = Sh(connect + " -brief");
  EXPECT_GE(WaitRefusals("tls-handshake-failed", failed + 1), failed + 1) << r.out;
  // TLS 1.2 with a good certificate: no protocol in common.
  r = Sh(connect + " -tls1_2 -cert " + good.cert + " -key " + good.key);
  EXPECT_NE(r.exit_code, 0) << r.out;
  // A client that does not trust the server's CA gives up on its own.
  r = Sh("openssl s_client -connect 127.0.0.1:" + std::to_string(native_->port()) +
          " -verify_return_error -cert " + good.cert + " -key " + good.key);
  EXPECT_NE(r.exit_code, 0) << r.out;
}

// Issue 13, defect 1: the documented certificate reload (SIGHUP) installed the plain server
// context on the device ports, so enrolled devices were refused and clients without a
// certificate completed the handshake.
TEST_F(DeviceListenerTest, CertificateReloadKeepsRequiringDeviceCertificates) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  // A first session on each port: the listeners now hold the contexts for the current CAs.
  Shell r = Sh(Pub(dl1, "sensordb/farm/dl-1/lp", "climate air_temp=21.5 1767225600000000000"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  DeviceClient(dl1);
  ASSERT_TRUE(native_->ReloadCertificates().ok());
  ASSERT_TRUE(mqtt_->ReloadCertificates().ok());
  r = Sh(Pub(dl1, "sensordb/farm/dl-1/lp", "climate air_temp=21.7 1767225660000000000"));
  ASSERT_EQ(r.exit_code, 0) << "an enrolled device refused after the reload: " << r.out;
  EXPECT_EQ(Points("farm", "dl-1"), 2u);
  auto c = DeviceClient(dl1);  // the native device stream too
  const double failed = Refusals("tls-handshake-failed");
  const Shell anon = Sh("openssl s_client -brief -connect 127.0.0.1:" +
                        std::to_string(mqtt_->port()) + " -CAfile " + config_.tls.ca_file +
                        " </dev/null");
  EXPECT_GE(WaitRefusals("tls-handshake-failed", failed + 1), failed + 1) << anon.out;
}

// Issue 13, defect 5: a device that keeps its TLS 1.3 session ticket resumes the session
// (without a session id context OpenSSL ended such handshakes with an internal error alert).
TEST_F(DeviceListenerTest, ADeviceResumesItsTlsSession) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  const std::string sess = dir_.Sub("dl-1.session");
  const std::string connect = "openssl s_client -connect 127.0.0.1:" +
                              std::to_string(native_->port()) + " -CAfile " +
                              config_.tls.ca_file + " -cert " + dl1.cert + " -key " + dl1.key;
  // The ticket comes after the handshake: stdin stays open briefly so that it is read.
  Shell r = Sh("sh -c 'sleep 0.5 | " + connect + " -sess_out " + sess + "'");
  ASSERT_TRUE(std::filesystem::exists(sess)) << "no session ticket saved: " << r.out;
  r = Sh("sh -c 'sleep 0.5 | " + connect + " -sess_in " + sess + "'");
  EXPECT_NE(r.out.find("Reused, TLSv1.3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

TEST_F(DeviceListenerTest, RevocationClosesALiveSessionWithinASecond) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  auto c = DeviceClient(dl1);
  ASSERT_TRUE(c->Send(protocol::EncodeHello(1, {})));
  ASSERT_TRUE(c->Receive().has_value());
  ASSERT_EQ(native_->DeviceSessions(), 1u);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(registry_->RevokeDevice(Local(), "farm", "dl-1").ok());
  EXPECT_TRUE(c->Closed());  // the read ends with the close, not the 5 s socket timeout
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(Refusals("device-revoked"), 1);
}

TEST_F(DeviceListenerTest, RenewalOverlapsAndTheOldCertificateCanBeRevoked) {
  const DeviceFiles first = Enroll("farm", "dl-1");
  const DeviceFiles second = Enroll("farm", "dl-1");  // renewal: both valid
  EXPECT_EQ(Sh(Pub(first, "sensordb/farm/dl-1/lp", "m v=1 1767225600000000000")).exit_code, 0);
  EXPECT_EQ(Sh(Pub(second, "sensordb/farm/dl-1/lp", "m v=2 1767225660000000000")).exit_code, 0);
  ASSERT_TRUE(registry_->RevokeCertificate(Local(), "farm", "dl-1", first.serial).ok());
  EXPECT_NE(Sh(Pub(first, "sensordb/farm/dl-1/lp", "m v=3 1767225720000000000")).exit_code, 0);
  EXPECT_EQ(Sh(Pub(second, "sensordb/farm/dl-1/lp", "m v=4 1767225780000000000")).exit_code, 0);
  EXPECT_EQ(Points("farm", "dl-1"), 3u);
}

class DeviceDeadlineTest : public DeviceListenerTest {
 protected:
  void Configure(ServerConfig& c) override {
    DeviceListenerTest::Configure(c);
    c.limits.handshake_timeout_ms = 300;
  }
};

// A valid certificate is not yet a session: a device that completes TLS but sends no Hello (on
// MQTT no CONNECT) stays in the pre-auth pool and the listener core closes it at the handshake
// deadline; one that says Hello at once keeps its session past it.
TEST_F(DeviceDeadlineTest, ACertifiedDeviceThatSaysNothingIsClosedAtTheHandshakeDeadline) {
  const DeviceFiles dl1 = Enroll("farm", "dl-1");
  auto silent = DeviceClient(dl1);
  EXPECT_TRUE(silent->Closed());
  auto mqtt_silent = std::make_unique<TestClient>(config_.tls.ca_file, TLS1_3_VERSION, dl1.cert,
                                                  dl1.key);
  ASSERT_FALSE(mqtt_silent->Connect(mqtt_->port()));
  EXPECT_TRUE(mqtt_silent->Closed());
  EXPECT_EQ(Refusals("handshake-timeout"), 2);
  auto talker = DeviceClient(dl1);
  ASSERT_TRUE(talker->Send(protocol::EncodeHello(1, {})));
  ASSERT_TRUE(talker->Receive().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(native_->DeviceSessions(), 1u);
  EXPECT_EQ(native_->Counters().preauth_active, 0u);
}

}  // namespace
}  // namespace sensordb::server
