#include "net/mqtt_handler.h"

#include "mqtt/codec.h"
#include "mqtt/topic.h"
#include "sensordb/formats/json_payload.h"
#include "sensordb/formats/line_protocol.h"

namespace sensordb::server {

namespace {

protocol::OutFrame Packet(const mqtt::Packet& p) {
  auto bytes = mqtt::Encode(p);
  // Server packets built here are always valid; an empty frame would only end the exchange.
  return protocol::OutFrame::Raw(bytes ? std::move(*bytes) : std::vector<uint8_t>());
}

}  // namespace

FrameHandler::Next MqttHandler::Refuse(StatusCode code, std::string why) {
  outcome_.code = code;
  refusal_ = std::move(why);
  return Next::kClose;
}

FrameHandler::Next MqttHandler::Handle(const mqtt::Packet& packet, ReplySink& out) {
  outcome_ = {};
  refusal_.clear();
  if (const auto* connect = std::get_if<mqtt::Connect>(&packet)) {
    if (connected_) return Refuse(StatusCode::kInvalidArgument, "a second CONNECT");
    const mqtt::ConnectReturnCode rc = mqtt::ConnectRefusal(*connect);
    out.push_back(Packet(mqtt::ConnAck{false, rc}));
    if (rc != mqtt::ConnectReturnCode::kAccepted) {
      return Refuse(StatusCode::kNotSupported, "CONNECT refused with return code " +
                                                   std::to_string(int(rc)));
    }
    connected_ = true;
    keep_alive_s_ = connect->keep_alive_s;
    return Next::kContinue;
  }
  if (!connected_) {
    return Refuse(StatusCode::kPermissionDenied,
                  "the first packet must be CONNECT, not " +
                      mqtt::PacketTypeName(uint8_t(mqtt::TypeOf(packet))));
  }
  if (const auto* publish = std::get_if<mqtt::Publish>(&packet)) return HandlePublish(*publish, out);
  if (std::holds_alternative<mqtt::PingReq>(packet)) {
    out.push_back(Packet(mqtt::PingResp{}));
    return Next::kContinue;
  }
  if (const auto* subscribe = std::get_if<mqtt::Subscribe>(&packet)) {
    // Devices only send: every filter is refused, and counted.
    outcome_.code = StatusCode::kPermissionDenied;
    out.push_back(Packet(mqtt::SubAck{
        subscribe->packet_id,
        std::vector<uint8_t>(subscribe->subscriptions.size(), mqtt::kSubAckFailure)}));
    return Next::kContinue;
  }
  if (const auto* unsubscribe = std::get_if<mqtt::Unsubscribe>(&packet)) {
    out.push_back(Packet(mqtt::UnsubAck{unsubscribe->packet_id}));
    return Next::kContinue;
  }
  // Every packet before it was handled (in order): a clean end, not a violation.
  if (std::holds_alternative<mqtt::Disconnect>(packet)) return Next::kEnd;
  // PUBACK from a client (the server never publishes) or anything else: a protocol error.
  return Refuse(StatusCode::kInvalidArgument,
                "unexpected " + mqtt::PacketTypeName(uint8_t(mqtt::TypeOf(packet))));
}

FrameHandler::Next MqttHandler::HandlePublish(const mqtt::Publish& publish, ReplySink& out) {
  if (publish.qos == mqtt::QoS::kExactlyOnce) {
    return Refuse(StatusCode::kNotSupported, "QoS 2 is not supported (use QoS 0 or 1)");
  }
  auto topic = mqtt::ParseDeviceTopic(publish.topic);
  if (!topic) return Refuse(StatusCode::kInvalidArgument, topic.error().message());
  if (topic->project != identity_.project || topic->device != identity_.device) {
    return Refuse(StatusCode::kPermissionDenied,
                  "topic '" + publish.topic + "' is not this device's (sensordb/" +
                      identity_.project + "/" + identity_.device + "/lp|json)");
  }
  formats::PayloadOptions options;
  options.device = identity_.device;
  options.default_timestamp_ns = WallClockNs();
  options.limits.max_points = limits_.max_write_points;
  batch_.Clear();
  const Status parsed =
      topic->format == mqtt::PayloadFormat::kJson
          ? formats::ParseJsonPayload(publish.payload, options, batch_)
          : formats::ParseLineProtocolPayload(publish.payload, options, batch_);
  if (!parsed.ok()) return Refuse(parsed.code(), "payload refused: " + parsed.message());
  const RateDecision d = points_limit_.Admit(identity_.project + "/" + identity_.device,
                                             WallClockNs(), double(batch_.points()));
  if (!d.allowed) {
    return Refuse(StatusCode::kRateLimited, "points-per-second limit of the device exceeded");
  }
  const Status written = db_.Write(identity_.project, identity_.project_id, batch_);
  if (written.code() == StatusCode::kResourceExhausted ||
      written.code() == StatusCode::kRateLimited ||
      written.code() == StatusCode::kNotFound || written.code() == StatusCode::kInvalidArgument) {
    // The device's publish, not the server, is at fault (a series quota, its project gone, a
    // value of the wrong type): a refusal, counted and logged like a bad payload.
    return Refuse(written.code(), "write refused: " + written.message());
  }
  if (!written.ok()) {
    // The server failed (e.g. its disk is full), not the device: no PUBACK since nothing was
    // stored, and the connection closes — 3.1.1 cannot refuse one publish — so the device keeps
    // the message for its next session. Not a violation, not audited.
    outcome_.code = written.code();
    return Next::kEnd;
  }
  outcome_.points_written = batch_.points();
  if (publish.qos == mqtt::QoS::kAtLeastOnce) out.push_back(Packet(mqtt::PubAck{publish.packet_id}));
  return Next::kContinue;
}

}  // namespace sensordb::server
