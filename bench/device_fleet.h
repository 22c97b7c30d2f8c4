// DeviceFleet: N simulated dataloggers, each with its own TLS 1.3 session to sensordbd's device
// listener (docs/DEVICES.md) and its own client certificate, driven by a few io threads with
// Boost.Asio. Speaks the native device stream (Hello, then Write awaiting WriteReply, Ping) or
// MQTT 3.1.1 (CONNECT, PUBLISH of line protocol at QoS 1 awaiting PUBACK or QoS 0, PINGREQ).
// Data are the deterministic random walks of Fleet (fleet.h), the device's own channels.
//
// Phases: Connect() opens every session (at most `connect_concurrency` handshakes at a time);
// Run() sends data (or only pings with `idle`) for `duration_s` from all established sessions at
// once, then waits for the acknowledgements still due; Close() (or the destructor) ends every
// session. Everything is bounded: connects and requests by timeouts, the run by its duration
// plus `drain_timeout_s`, memory by `window` requests in flight per session.
//
// Thread-safety: Connect, Run and Close are called from one thread (not an io thread), in that
// order. The sessions live on the io threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device_identity.h"
#include "error_tally.h"
#include "sensordb/status.h"

namespace sensordb::bench {

enum class DeviceProtocol : uint8_t { kNative, kMqtt };

struct FleetPlan {
  DeviceProtocol protocol = DeviceProtocol::kNative;
  std::string host = "127.0.0.1";  // an IP address or a name to resolve
  uint16_t port = 0;               // the device port (native) or the MQTT port
  std::string server_name;         // checked against the server certificate (DNS name or IP)
  std::string ca_file;             // the CA that signs the server certificate
  std::string project;
  int channels = 10;           // per device, the names of Fleet::ChannelName
  int64_t batch_points = 100;  // samples per channel in one Write / lines in one PUBLISH
  double rate = 0;             // points per second per device; 0: as fast as the window allows
  uint32_t window = 4;         // requests in flight per session
  double duration_s = 10;
  bool idle = false;            // no data: pings only
  double ping_interval_s = 10;  // idle sessions, and MQTT keep-alive traffic
  int qos = 1;                  // MQTT: 0 or 1
  uint16_t keep_alive_s = 60;   // MQTT CONNECT keep-alive
  int io_threads = 2;
  int connect_concurrency = 128;         // handshakes in progress at once, over all threads
  uint32_t connect_timeout_ms = 20'000;  // TCP + TLS + Hello/CONNACK of one session
  uint32_t request_timeout_ms = 30'000;  // one acknowledgement
  double drain_timeout_s = 30;
  // --ota: instead of data, each device asks for its firmware offer once, reads the offered
  // image in 64 KiB ranges (waiting out RateLimited), verifies statement, manifest and image with
  // the real agent (device/; no slot is written: docs/BENCHMARKS.md) and reports the outcome; a
  // device's run ends with its report, the fleet's when every device's has (or at duration_s).
  bool ota = false;
  std::vector<uint8_t> ota_root;  // the signed root the devices are provisioned with
  std::string ota_model = "DL-200";
};

struct SetupReport {
  uint64_t established = 0;
  uint64_t failed = 0;
  double seconds = 0;             // from the first connect to the last session ready
  std::vector<float> connect_ms;  // TCP + TLS + greeting, per established session
  ErrorTally failures;
};

struct RunReport {
  uint64_t points_acked = 0;      // acknowledged by the server (QoS 0: confirmed by PINGRESP)
  uint64_t requests_acked = 0;    // WriteReply / PUBACK (pings in idle runs)
  uint64_t requests_unacked = 0;  // refused, or lost with their session, or still due at the end
  uint64_t sessions_lost = 0;     // established sessions that ended during the run
  double seconds = 0;             // from the start to the last acknowledgement (idle: duration)
  std::vector<float> ack_ms;      // per acknowledged request (idle: ping round trips; ota: per
                                  // device, from its offer request to its report's answer)
  ErrorTally errors;
  // --ota: devices whose image verified, that were offered nothing, that failed (refused by the
  // agent or by the server); image bytes received; requests answered RateLimited and retried.
  uint64_t ota_verified = 0, ota_not_offered = 0, ota_failed = 0, ota_bytes = 0;
  uint64_t ota_rate_limited = 0;
  uint64_t ota_unfinished = 0;  // still updating when the run's duration ended
};

class DeviceFleet {
 public:
  // `devices` (those with a certificate take part) must outlive the DeviceFleet.
  static Result<std::unique_ptr<DeviceFleet>> Create(const FleetPlan& plan,
                                                     const std::vector<DeviceIdentity>& devices);
  ~DeviceFleet();
  DeviceFleet(const DeviceFleet&) = delete;
  DeviceFleet& operator=(const DeviceFleet&) = delete;

  SetupReport Connect();
  RunReport Run();
  void Close();

  struct Shard;  // one io thread and its sessions (device_fleet.cc)

 private:
  DeviceFleet() = default;
  struct Shared;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Shard>> shards_;
  bool closed_ = false;
};

}  // namespace sensordb::bench
