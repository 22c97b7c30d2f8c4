// MqttHandler: MQTT 3.1.1 as a device speaks it to sensordbd (docs/DEVICES.md, protocol/mqtt/):
// CONNECT first (the certificate is the identity; username and password are ignored), then
// PUBLISH at QoS 0 or 1 to sensordb/<project>/<device>/lp|json of the certificate's own
// project and device — the points are written before a PUBACK is sent — PINGREQ and
// DISCONNECT. QoS 2, SUBSCRIBE (refused with SUBACK 0x80: there is nothing to read here),
// a topic of another device, a bad payload: refused, and for a publish the connection closes,
// since MQTT 3.1.1 has no way to refuse one. Borrows the DB and the limiter. Not thread-safe
// (one per connection).
#pragma once

#include <cstdint>
#include <string>

#include "auth/rate_limiter.h"
#include "devices/device_authority.h"
#include "mqtt/packet.h"
#include "net/request_handler.h"
#include "sensordb/db.h"
#include "sensordb/formats/payload.h"
#include "sensordb/write_batch.h"

namespace sensordb::server {

// The largest MQTT packet read (or limits.max_frame_bytes if smaller): the largest payload
// parsed, a topic of at most 65535 bytes with its length, a packet id and the fixed header. A
// larger packet is refused from its fixed header, before its body is read.
inline constexpr uint32_t kMqttMaxPacketBytes =
    uint32_t(formats::PayloadLimits{}.max_payload_bytes) + 2 + 65'535 + 2 + 5;

class MqttHandler {
 public:
  using Next = FrameHandler::Next;
  MqttHandler(DB& db, DeviceIdentity identity, SessionLimits limits, RateLimiter& points_limit)
      : db_(db), identity_(std::move(identity)), limits_(limits), points_limit_(points_limit) {}

  // Appends the replies (raw MQTT packets) to `out`.
  Next Handle(const mqtt::Packet& packet, ReplySink& out);
  bool connected() const { return connected_; }
  // The keep-alive the client asked for (0: none); the server allows 1.5 times it.
  uint32_t keep_alive_ms() const { return keep_alive_s_ * 1000u; }
  const RequestOutcome& outcome() const { return outcome_; }
  // Why the last packet closed the connection, for the log of refusals (empty otherwise).
  const std::string& refusal() const { return refusal_; }

 private:
  Next Refuse(StatusCode code, std::string why);
  Next HandlePublish(const mqtt::Publish& publish, ReplySink& out);

  DB& db_;
  const DeviceIdentity identity_;
  const SessionLimits limits_;
  RateLimiter& points_limit_;
  bool connected_ = false;
  uint16_t keep_alive_s_ = 0;
  WriteBatch batch_;
  RequestOutcome outcome_;
  std::string refusal_;
};

}  // namespace sensordb::server
