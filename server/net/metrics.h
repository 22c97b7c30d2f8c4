// ServerMetrics: what sensordbd counts about itself — requests by type, their latency, points
// in and out, connection ends by reason, refusals — and the Prometheus text exposition of those
// together with the listener's, the authenticator's, the backup schedule's, the key status and
// the database's figures (docs/SERVER.md "Metrics"). Counters are relaxed atomics: recording
// costs a few nanoseconds on the request path. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "net/request_handler.h"
#include "sensordb/backup.h"
#include "sensordb/db.h"
#include "sensordb/keys.h"

namespace sensordb::server {

struct ListenerCounters;
struct RolloutStatus;  // devices/device_registry.h

// Why a connection ended before or outside a normal close by the client.
enum class ConnectionEnd : uint8_t {
  kTlsHandshakeFailed,  // not TLS 1.3, plaintext, bad certificate, reset during the handshake
  kHandshakeTimeout,    // TLS + Hello + Auth did not finish in limits.handshake_timeout_ms
  kIdleTimeout,
  kBadFrame,            // too large, not a FlatBuffer, wrong identifier
  kProtocolViolation,   // a request before Auth, a second Hello, ...
  kSlowReader,          // a streaming reply found no room for the send timeout
  kDeviceRefused,       // a verified certificate that DeviceAuthority::Admit refused, or a
                        // device over its session cap
  kDeviceRevoked,       // a live device session closed: certificate revoked or expired
  kPreAuthEvicted,      // not yet authenticated, closed to make room in the pre-auth pool
};
inline constexpr size_t kConnectionEndCount = 9;
std::string_view ConnectionEndName(ConnectionEnd end);

// Why the REST listener refused a request before doing its work.
enum class RestRefusal : uint8_t {
  kUnauthenticated,  // no, malformed, unknown, revoked or expired token
  kRateLimited,
  kTooLarge,         // headers, body or inflated body over the limits
  kMalformed,        // not HTTP, bad gzip, invalid UTF-8
  kTimeout,          // headers and body not received within rest.timeout_ms
  kConnectionCap,
};
inline constexpr size_t kRestRefusalCount = 6;

// Latency histogram bucket bounds, in seconds.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class ServerMetrics {
 public:
  // One handled request: its message type (wire::Message value), what it did, its frame's
  // size and how long the handler took.
  void RecordRequest(uint8_t type, const RequestOutcome& outcome, size_t frame_bytes,
                     double seconds);
  // One MQTT packet from a device (`type` the packet type, 1-14).
  void RecordMqtt(uint8_t type, const RequestOutcome& outcome, size_t packet_bytes, double seconds);
  void RecordConnectionEnd(ConnectionEnd end);
  // A write the engine refused (any listener); a full disk is counted and logged (one line
  // per 10 s at most). RecordRequest and RecordMqtt call it for their outcome's code.
  void RecordWriteError(const Status& status);
  void RecordMetricsRefusal() { metrics_refused_.fetch_add(1, std::memory_order_relaxed); }
  // The REST listener (server/rest/): one answered request by HTTP status, and refusals before
  // any work (no or bad token, rate limit, too large, malformed or too slow).
  void RecordRestResponse(unsigned http_status, double seconds);
  // A REST write the engine acknowledged: its points and the bytes of its body as received.
  void RecordRestWrite(uint64_t points, size_t body_bytes) {
    points_written_.fetch_add(points, std::memory_order_relaxed);
    write_bytes_.fetch_add(body_bytes, std::memory_order_relaxed);
  }
  void RecordRestRefusal(RestRefusal why) {
    rest_refused_[size_t(why)].fetch_add(1, std::memory_order_relaxed);
  }

  // Everything else the exposition shows, gathered by the caller at scrape time.
  struct Sources {
    const ListenerCounters* listener = nullptr;
    const AuthCounters* auth = nullptr;
    std::optional<BackupScheduleStatus> backup;
    const KeyStatusReport* keys = nullptr;
    const DBStats* db = nullptr;
    const std::vector<RolloutStatus>* rollouts = nullptr;  // rollouts not cancelled
    double uptime_s = 0;
  };
  std::string Render(const Sources& sources) const;

 private:
  static constexpr size_t kTypes = 128;  // wire::Message values; larger ones are folded into 0
  struct Histogram {
    std::array<std::atomic<uint64_t>, kLatencyBuckets.size()> buckets{};  // non-cumulative
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };
  static void RenderHistogram(std::string& out, std::string_view name, const std::string& labels,
                              const Histogram& h);

  std::array<std::atomic<uint64_t>, kTypes> requests_{};
  std::array<Histogram, kTypes> latency_{};
  std::array<std::atomic<uint64_t>, 16> errors_{};  // by StatusCode
  std::array<std::atomic<uint64_t>, 16> mqtt_packets_{};  // by MQTT packet type
  std::array<std::atomic<uint64_t>, kConnectionEndCount> ends_{};
  std::atomic<uint64_t> points_written_{0};
  std::atomic<uint64_t> write_bytes_{0};
  std::atomic<uint64_t> rows_returned_{0};
  std::atomic<uint64_t> firmware_bytes_{0};
  std::array<std::atomic<uint64_t>, 8> firmware_reports_{};  // by step, [0] unused
  std::atomic<uint64_t> metrics_refused_{0};
  std::atomic<uint64_t> no_space_writes_{0};
  std::atomic<int64_t> no_space_logged_ns_{0};  // when the last no-space line was logged
  std::array<std::atomic<uint64_t>, 6> rest_responses_{};  // by status class 1xx..5xx, [0] other
  std::array<std::atomic<uint64_t>, kRestRefusalCount> rest_refused_{};
  Histogram rest_latency_;
};

}  // namespace sensordb::server
