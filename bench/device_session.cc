#include "device_session.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "mqtt/codec.h"
#include "mqtt/topic.h"
#include "sensordb/ota.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/firmware_codec.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::bench {

namespace {

std::string CodeName(const Status& s) { return std::string(StatusCodeName(s.code())); }

}  // namespace

// A device's firmware update as the bench runs it: the agent's store and image check, and the
// request to send next (sent again after a RateLimited answer).
struct DeviceSession::Ota {
  enum class Next : uint8_t { kOffer, kRead, kReport };
  sdb_ota_store store{};
  sdb_ota_image image{};
  Next next = Next::kOffer;
  uint8_t nonce[SDB_OTA_NONCE_BYTES]{};
  uint64_t image_id = 0;
  uint8_t step = 0;  // the report's
  std::string reason;
  Clock::time_point started{};
};

DeviceSession::~DeviceSession() = default;

DeviceSession::DeviceSession(DeviceFleet::Shard& shard, const DeviceIdentity& identity, int index)
    : shard_(shard), identity_(identity), index_(index), timer_(shard.io) {
  if (mqtt()) {
    topic_ = mqtt::FormatDeviceTopic(shard.plan.project, identity.device,
                                     mqtt::PayloadFormat::kLineProtocol);
  }
}

bool DeviceSession::mqtt() const { return shard_.plan.protocol == DeviceProtocol::kMqtt; }

void DeviceSession::Start() {
  stage_ = Stage::kConnecting;
  started_ = Clock::now();
  stream_.emplace(shard_.io, shard_.tls);
  SSL* ssl = stream_->native_handle();
  // This device's own identity on this connection; the shared context only verifies the server.
  if (SSL_use_certificate(ssl, identity_.certificate.get()) != 1 ||
      SSL_use_PrivateKey(ssl, identity_.key.get()) != 1) {
    return Fail("client certificate", "SSL_use_certificate / SSL_use_PrivateKey failed");
  }
  const std::string& name = shard_.plan.server_name;
  const bool named = shard_.server_name_is_ip
                         ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
                         : SSL_set1_host(ssl, name.c_str()) == 1 &&
                               SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (!named) return Fail("server name", "cannot check the server certificate for " + name);
  stream_->lowest_layer().async_connect(
      shard_.endpoint, [this](const boost::system::error_code& ec) { OnConnected(ec); });
}

void DeviceSession::OnConnected(const boost::system::error_code& ec) {
  if (stage_ == Stage::kDone) return;
  if (ec) return Fail("tcp connect", ec.message());
  boost::system::error_code ignored;
  stream_->lowest_layer().set_option(tcp::no_delay(true), ignored);
  stage_ = Stage::kHandshaking;
  stream_->async_handshake(asio::ssl::stream_base::client,
                           [this](const boost::system::error_code& e) { OnHandshake(e); });
}

void DeviceSession::OnHandshake(const boost::system::error_code& ec) {
  if (stage_ == Stage::kDone) return;
  if (ec) return Fail("tls handshake", ec.message());
  stage_ = Stage::kGreeting;
  read_buf_ = std::make_unique<uint8_t[]>(kReadBytes);
  if (mqtt()) {
    packets_.emplace(mqtt::Sender::kServer);
    mqtt::Connect connect;
    connect.client_id = identity_.device;
    connect.keep_alive_s = shard_.plan.keep_alive_s;
    auto bytes = mqtt::Encode(connect);
    if (!bytes) return Fail("encode CONNECT", bytes.error().ToString());
    Queue(std::move(*bytes));
  } else {
    frames_.emplace(protocol::kDefaultMaxFrameBytes);
    Queue(protocol::EncodeHello(next_id_++, {.client_name = "sensordb-bench-fleet/0.1.0"}));
  }
  Read();
}

void DeviceSession::Read() {
  stream_->async_read_some(
      asio::buffer(read_buf_.get(), kReadBytes),
      [this](const boost::system::error_code& ec, size_t n) { OnRead(ec, n); });
}

void DeviceSession::OnRead(const boost::system::error_code& ec, size_t n) {
  if (stage_ == Stage::kDone) return;
  if (ec) {
    return Fail(stage_ == Stage::kReady ? "session closed by the server"
                                        : "closed before the greeting was answered",
                ec.message());
  }
  const std::span<const uint8_t> bytes(read_buf_.get(), n);
  if (mqtt()) {
    const Status fed = packets_->Feed(bytes);
    while (auto packet = packets_->Next()) {
      OnPacket(*packet);
      if (stage_ == Stage::kDone) return;
    }
    if (!fed.ok()) return Fail("bad packet from the server", fed.ToString());
  } else {
    const Status fed = frames_->Feed(bytes);
    while (auto frame = frames_->Next()) {
      OnFrame(*frame);
      if (stage_ == Stage::kDone) return;
    }
    if (!fed.ok()) return Fail("bad frame from the server", fed.ToString());
  }
  Read();
  Pump();
}

void DeviceSession::OnFrame(const protocol::Frame& frame) {
  const auto now = Clock::now();
  if (ota_ && stage_ == Stage::kReady) return OnOtaFrame(frame, now);
  if (frame.type() == wire::Message::Error) {
    const Status s = protocol::DecodeError(*frame.As<wire::Error>());
    if (stage_ != Stage::kReady) return Fail("Hello refused: " + CodeName(s), s.message());
    if (frame.request_id() == 0) return Fail("connection error: " + CodeName(s), s.message());
    if (Take(frame.request_id())) {
      shard_.run.errors.Add("write refused: " + CodeName(s), s.message());
      ++shard_.run.requests_unacked;
    } else if (ping_outstanding_ && frame.request_id() == ping_id_) {
      return Fail("Ping refused: " + CodeName(s), s.message());
    }
    return;
  }
  if (stage_ == Stage::kGreeting) {
    const auto* hello = frame.As<wire::HelloReply>();
    if (hello == nullptr)
      return Fail("unexpected reply to Hello", protocol::MessageName(frame.type()));
    auto info = protocol::DecodeHelloReply(*hello);
    if (!info) return Fail("bad HelloReply", info.error().ToString());
    max_frame_bytes_ = info->max_frame_bytes;
    return Ready();
  }
  switch (frame.type()) {
    case wire::Message::WriteReply: {
      auto ack = protocol::DecodeWriteReply(*frame.As<wire::WriteReply>());
      auto sent = Take(frame.request_id());
      if (!ack || !sent)
        return Fail("bad WriteReply", ack ? "unknown request id" : ack.error().ToString());
      shard_.Acked(ack->points, sent->sent, now);
      return;
    }
    case wire::Message::Pong:
      if (ping_outstanding_ && frame.request_id() == ping_id_) return PingAcked();
      return Fail("unexpected Pong", "request id " + std::to_string(frame.request_id()));
    default:
      return Fail("unexpected message", protocol::MessageName(frame.type()));
  }
}

void DeviceSession::OnPacket(const mqtt::Packet& packet) {
  if (const auto* ack = std::get_if<mqtt::ConnAck>(&packet)) {
    if (stage_ != Stage::kGreeting) return Fail("unexpected CONNACK", "a second CONNACK");
    if (ack->return_code != mqtt::ConnectReturnCode::kAccepted) {
      return Fail("CONNECT refused", "return code " + std::to_string(int(ack->return_code)));
    }
    return Ready();
  }
  if (stage_ != Stage::kReady) {
    return Fail("unexpected packet before CONNACK",
                mqtt::PacketTypeName(uint8_t(mqtt::TypeOf(packet))));
  }
  if (const auto* ack = std::get_if<mqtt::PubAck>(&packet)) {
    auto sent = Take(ack->packet_id);
    if (!sent) return Fail("unexpected PUBACK", "packet id " + std::to_string(ack->packet_id));
    shard_.Acked(sent->points, sent->sent, Clock::now());
    return;
  }
  if (std::holds_alternative<mqtt::PingResp>(packet) && ping_outstanding_) return PingAcked();
  Fail("unexpected packet", mqtt::PacketTypeName(uint8_t(mqtt::TypeOf(packet))));
}

void DeviceSession::Ready() {
  stage_ = Stage::kReady;
  shard_.SetupDone(true, Clock::now() - started_);
}

void DeviceSession::Begin(Clock::time_point end) {
  (void)end;  // the shard's end timer calls Stop
  begun_ = true;
  running_ = true;
  const FleetPlan& plan = shard_.plan;
  if (plan.ota) return StartOta();
  const auto now = Clock::now();
  if (plan.idle) {
    // Spread the pings over the interval, the same way in every run.
    const auto interval = std::chrono::duration<double>(plan.ping_interval_s);
    const double offset = double((uint64_t(index_) * 7919) % 1000) / 1000.0;
    ArmTimer(now + std::chrono::duration_cast<Clock::duration>(interval * offset));
    return;
  }
  if (plan.rate > 0) {
    const double points = double(plan.batch_points) * plan.channels;
    send_interval_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(points / plan.rate));
    // Devices start spread over one interval, as a real fleet would.
    next_send_ = now + std::chrono::duration_cast<Clock::duration>(
                           send_interval_ * (double((uint64_t(index_) * 7919) % 1000) / 1000.0));
  }
  Pump();
}

bool DeviceSession::CanSend() const {
  if (mqtt() && shard_.plan.qos == 0) return outbox_.size() + sending_.size() < shard_.plan.window;
  return in_flight_.size() < shard_.plan.window;
}

void DeviceSession::Pump() {
  if (stage_ != Stage::kReady) return;
  if (!running_) return MaybeDrained();
  if (shard_.plan.idle || shard_.plan.ota) return;  // pings, or firmware requests: their own pace
  while (CanSend() && stage_ == Stage::kReady) {
    if (shard_.plan.rate > 0) {
      const auto now = Clock::now();
      if (now < next_send_) return ArmTimer(next_send_);
      next_send_ += send_interval_;
    }
    SendData();
  }
}

void DeviceSession::SendData() {
  if (mqtt()) return SendPublish();
  SendNativeWrite();
}

void DeviceSession::SendNativeWrite() {
  DeviceFleet::Shard& s = shard_;
  const int64_t n = s.plan.batch_points;
  s.batch.Clear();
  for (int c = 0; c < s.plan.channels; ++c) {
    s.fleet.Points(index_, c, next_sample_, n, &s.ts, &s.values[0]);
    s.batch.AddFloat64(identity_.device, s.channel_names[c], s.ts, s.values[0]);
  }
  next_sample_ += n;
  const uint64_t id = next_id_++;
  auto frame =
      protocol::EncodeWrite(id, s.plan.project, s.batch, Durability::kSync, max_frame_bytes_);
  if (!frame) return Fail("encode Write", frame.error().ToString());
  in_flight_.push_back({id, Clock::now(), uint64_t(s.batch.points())});
  Queue(std::move(*frame));
}

// One line per sample time with every channel of the device as a field, as a datalogger reports
// a scan of its sensors: `fleet temperature=21.5,humidity=55.1,... 1767225600000000000`.
void DeviceSession::SendPublish() {
  DeviceFleet::Shard& s = shard_;
  const int64_t n = s.plan.batch_points;
  for (int c = 0; c < s.plan.channels; ++c) {
    s.fleet.Points(index_, c, next_sample_, n, &s.ts, &s.values[c]);
  }
  next_sample_ += n;
  auto& publish = std::get<mqtt::Publish>(s.publish);
  publish.topic = topic_;
  publish.payload.clear();
  auto out = std::back_inserter(publish.payload);
  for (int64_t i = 0; i < n; ++i) {
    publish.payload += "fleet ";
    for (int c = 0; c < s.plan.channels; ++c) {
      publish.payload += s.field_prefixes[c];
      fmt::format_to(out, "{}", s.values[c][size_t(i)]);
    }
    fmt::format_to(out, " {}\n", s.ts[size_t(i)]);
  }
  const uint64_t points = uint64_t(n) * uint64_t(s.plan.channels);
  publish.qos = s.plan.qos == 1 ? mqtt::QoS::kAtLeastOnce : mqtt::QoS::kAtMostOnce;
  publish.packet_id = 0;
  if (s.plan.qos == 1) {
    publish.packet_id = next_packet_id_;
    next_packet_id_ = next_packet_id_ == 65535 ? 1 : next_packet_id_ + 1;
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(publish.payload.size() + publish.topic.size() + 16);
  const Status encoded = mqtt::EncodeTo(s.publish, bytes);
  if (!encoded.ok()) return Fail("encode PUBLISH", encoded.ToString());
  if (s.plan.qos == 1) {
    in_flight_.push_back({publish.packet_id, Clock::now(), points});
  } else {
    unconfirmed_points_ += points;
  }
  Queue(std::move(bytes));
}

void DeviceSession::SendPing() {
  ping_outstanding_ = true;
  ping_sent_ = Clock::now();
  ping_confirms_ = unconfirmed_points_;
  if (mqtt()) {
    auto bytes = mqtt::Encode(mqtt::PingReq{});
    if (!bytes) return Fail("encode PINGREQ", bytes.error().ToString());
    Queue(std::move(*bytes));
  } else {
    ping_id_ = next_id_++;
    Queue(protocol::EncodePing(ping_id_));
  }
}

void DeviceSession::PingAcked() {
  ping_outstanding_ = false;
  const auto now = Clock::now();
  if (shard_.plan.idle) {
    shard_.Acked(0, ping_sent_, now);
  } else if (ping_confirms_ > 0) {  // QoS 0: every PUBLISH before the PINGREQ was served
    shard_.run.points_acked += ping_confirms_;
    unconfirmed_points_ -= ping_confirms_;
    ping_confirms_ = 0;
    shard_.last_ack = now;
  }
  MaybeDrained();
}

void DeviceSession::ArmTimer(Clock::time_point at) {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_at(at);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    timer_armed_ = false;
    if (ec || stage_ == Stage::kDone) return;
    OnTimer();
  });
}

void DeviceSession::OnTimer() {
  if (!running_) return;
  if (ota_) return SendOta();  // after a RateLimited answer
  if (shard_.plan.idle) {
    if (!ping_outstanding_) SendPing();
    ArmTimer(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(shard_.plan.ping_interval_s)));
    return;
  }
  Pump();
}

void DeviceSession::Stop() {
  if (!begun_ || stopping_) return;
  stopping_ = true;
  running_ = false;
  timer_.cancel();
  if (stage_ != Stage::kReady) return;  // already lost (and counted as drained)
  if (ota_ && in_flight_.empty()) ++shard_.run.ota_unfinished;    // was waiting out RateLimited
  if (unconfirmed_points_ > 0 && !ping_outstanding_) SendPing();  // QoS 0: confirm what was sent
  MaybeDrained();
}

void DeviceSession::MaybeDrained() {
  if (!stopping_ || drained_ || !in_flight_.empty() || ping_outstanding_) return;
  drained_ = true;
  shard_.Drained();
}

void DeviceSession::Check(Clock::time_point now) {
  const FleetPlan& plan = shard_.plan;
  if (stage_ == Stage::kConnecting || stage_ == Stage::kHandshaking || stage_ == Stage::kGreeting) {
    if (now - started_ > std::chrono::milliseconds(plan.connect_timeout_ms)) {
      const char* what = stage_ == Stage::kConnecting    ? "timeout: tcp connect"
                         : stage_ == Stage::kHandshaking ? "timeout: tls handshake"
                                                         : "timeout: Hello/CONNACK";
      Fail(what, "no progress within " + std::to_string(plan.connect_timeout_ms) + " ms");
    }
    return;
  }
  if (stage_ != Stage::kReady) return;
  const auto limit = std::chrono::milliseconds(plan.request_timeout_ms);
  if (!in_flight_.empty() && now - in_flight_.front().sent > limit) {
    Fail("timeout: acknowledgement",
         "none within " + std::to_string(plan.request_timeout_ms) + " ms");
  } else if (ping_outstanding_ && now - ping_sent_ > limit) {
    Fail("timeout: ping", "no answer within " + std::to_string(plan.request_timeout_ms) + " ms");
  }
}

void DeviceSession::Abandon() {
  if (stage_ == Stage::kReady && begun_ && !drained_) {
    Fail("acknowledgement still due after the drain", "the run ended without it");
  }
}

std::optional<DeviceSession::InFlight> DeviceSession::Take(uint64_t id) {
  for (size_t i = 0; i < in_flight_.size(); ++i) {
    if (in_flight_[i].id == id) {
      InFlight f = in_flight_[i];
      in_flight_.erase(in_flight_.begin() + ptrdiff_t(i));
      return f;
    }
  }
  return std::nullopt;
}

void DeviceSession::Queue(Outgoing out) {
  outbox_.push_back(std::move(out));
  Flush();
}

void DeviceSession::Flush() {
  if (writing_ || outbox_.empty() || stage_ == Stage::kDone) return;
  writing_ = true;
  sending_.clear();
  buffers_.clear();
  while (!outbox_.empty() && sending_.size() < 16) {
    sending_.push_back(std::move(outbox_.front()));
    outbox_.pop_front();
  }
  // Buffers point into the frames: take them only once sending_ stops growing.
  for (const Outgoing& o : sending_) {
    if (const auto* frame = std::get_if<protocol::OutFrame>(&o)) {
      buffers_.emplace_back(frame->header().data(), frame->header().size());
      buffers_.emplace_back(frame->payload().data(), frame->payload().size());
    } else {
      const auto& bytes = std::get<std::vector<uint8_t>>(o);
      buffers_.emplace_back(bytes.data(), bytes.size());
    }
  }
  asio::async_write(*stream_, buffers_,
                    [this](const boost::system::error_code& ec, size_t) { OnWritten(ec); });
}

void DeviceSession::OnWritten(const boost::system::error_code& ec) {
  writing_ = false;
  sending_.clear();
  if (stage_ == Stage::kDone) return;
  if (ec) return Fail("send", ec.message());
  Flush();
  if (mqtt() && shard_.plan.qos == 0) Pump();  // QoS 0 is paced by the socket alone
}

void DeviceSession::Fail(const std::string& reason, const std::string& detail) {
  if (stage_ == Stage::kDone) return;
  const bool was_ready = stage_ == Stage::kReady;
  stage_ = Stage::kDone;
  running_ = false;
  Close();
  if (!was_ready) {
    shard_.setup.failures.Add(reason, detail);
    shard_.SetupDone(false, {});
    return;
  }
  shard_.run.errors.Add(reason, detail);
  shard_.run.requests_unacked += in_flight_.size() + (ping_outstanding_ ? 1 : 0);
  in_flight_.clear();
  ping_outstanding_ = false;
  if (begun_) {
    ++shard_.run.sessions_lost;
    if (!drained_) {
      drained_ = true;
      shard_.Drained();
    }
  }
}

void DeviceSession::Close() {
  if (stage_ != Stage::kDone) stage_ = Stage::kDone;
  timer_.cancel();
  if (stream_) {
    boost::system::error_code ignored;
    stream_->lowest_layer().close(ignored);
  }
}

// ---- Firmware (--ota) ----------------------------------------------------------------------

namespace {

// The factory image the devices run (what provisioning hashes): 16 bytes of 'F'.
constexpr uint64_t kFactoryBytes = 16;
int ReadFactory(void*, uint32_t, uint64_t, uint8_t* buf, size_t len) {
  std::memset(buf, 'F', len);
  return 0;
}

}  // namespace

void DeviceSession::StartOta() {
  ota_ = std::make_unique<Ota>();
  const FleetPlan& plan = shard_.plan;
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const sdb_ota_result r =
      sdb_ota_provision(&ota_->store, plan.project.c_str(), identity_.device.c_str(),
                        plan.ota_model.c_str(), plan.ota_root.data(), plan.ota_root.size(),
                        now_s - 3600, 0, kFactoryBytes, 0, ReadFactory, nullptr);
  if (r != SDB_OTA_OK) return Fail("ota: provision", sdb_ota_result_name(r));
  sdb_ota_begin_request(&ota_->store, ota_->nonce);
  ota_->started = Clock::now();
  SendOta();
}

void DeviceSession::SendOta() {
  if (stage_ != Stage::kReady || !ota_) return;
  if (stopping_) {  // the run's duration ended first: counted, not continued
    ++shard_.run.ota_unfinished;
    return OtaFinish();
  }
  const FleetPlan& plan = shard_.plan;
  Ota& o = *ota_;
  const uint64_t id = next_id_++;
  switch (o.next) {
    case Ota::Next::kOffer:
      Queue(protocol::EncodeGetFirmwareOffer(id, {plan.project, o.nonce, plan.ota_model, "1.0.0",
                                                  o.store.security_version, o.store.root.version}));
      break;
    case Ota::Next::kRead:
      Queue(protocol::EncodeReadFirmware(
          id, {plan.project, o.image_id, o.image.written,
               uint32_t(std::min<uint64_t>(protocol::kMaxFirmwareReadBytes,
                                           o.image.expected_length - o.image.written))}));
      break;
    case Ota::Next::kReport:
      Queue(protocol::EncodeReportFirmware(id, {plan.project, o.image_id, o.step, o.reason, "1.0.0",
                                                o.store.security_version, o.store.root.version}));
      break;
  }
  in_flight_.push_back({id, Clock::now(), 0});
}

void DeviceSession::OtaReport(uint8_t step, std::string reason) {
  ota_->step = step;
  ota_->reason = std::move(reason);
  ota_->next = Ota::Next::kReport;
  SendOta();
}

void DeviceSession::OnOtaFrame(const protocol::Frame& frame, Clock::time_point now) {
  Ota& o = *ota_;
  RunReport& run = shard_.run;
  if (frame.type() == wire::Message::Error && frame.request_id() == 0) {
    const Status s = protocol::DecodeError(*frame.As<wire::Error>());
    return Fail("connection error: " + CodeName(s), s.message());
  }
  // One request at a time: the reply must be to it, and of its kind.
  const wire::Message expected = o.next == Ota::Next::kOffer  ? wire::Message::FirmwareOffer
                                 : o.next == Ota::Next::kRead ? wire::Message::FirmwareData
                                                              : wire::Message::Done;
  if (!Take(frame.request_id()) ||
      (frame.type() != expected && frame.type() != wire::Message::Error)) {
    return Fail("ota: unexpected reply", protocol::MessageName(frame.type()));
  }
  constexpr uint8_t kVerified = 3, kFailed = 7;  // firmware steps (protocol/README.md)
  switch (frame.type()) {
    case wire::Message::Error: {
      const Status s = protocol::DecodeError(*frame.As<wire::Error>());
      if (s.code() == StatusCode::kRateLimited) {  // the device's byte rate: wait, then again
        ++run.ota_rate_limited;
        if (stopping_) return SendOta();  // counts it unfinished
        return ArmTimer(now + std::chrono::milliseconds(50));
      }
      run.errors.Add("ota refused: " + CodeName(s), s.message());
      ++run.ota_failed;
      return OtaFinish();
    }
    case wire::Message::FirmwareOffer: {
      auto offer = protocol::DecodeFirmwareOffer(*frame.As<wire::FirmwareOffer>());
      if (!offer) return Fail("ota: bad FirmwareOffer", offer.error().ToString());
      o.image_id = offer->image_id;  // what a failure report names
      const auto refused = [&](sdb_ota_result r) {
        if (o.image_id != 0) return OtaReport(kFailed, sdb_ota_result_name(r));
        ++run.ota_failed;  // nothing offered to report on
        run.errors.Add("ota: agent refused", sdb_ota_result_name(r));
        OtaFinish();
      };
      for (const auto& root : offer->roots) {
        const sdb_ota_result r = sdb_ota_accept_root(&o.store, root.data(), root.size());
        if (r != SDB_OTA_OK) return refused(r);
      }
      sdb_ota_result r = sdb_ota_accept_freshness(&o.store, offer->statement.data(),
                                                  offer->statement.size(), nullptr);
      if (r != SDB_OTA_OK) return refused(r);
      if (!o.store.has_offer) {
        ++run.ota_not_offered;
        return OtaFinish();
      }
      sdb_ota_manifest m;
      r = sdb_ota_check_manifest(&o.store, offer->manifest.data(), offer->manifest.size(),
                                 o.store.offered_sha256, &m);
      if (r != SDB_OTA_OK) return refused(r);
      sdb_ota_image_begin(&o.image, &m);
      o.next = Ota::Next::kRead;
      return SendOta();
    }
    case wire::Message::FirmwareData: {
      auto data = protocol::DecodeFirmwareData(*frame.As<wire::FirmwareData>());
      if (!data || data->offset != o.image.written || data->bytes.empty()) {
        return Fail("ota: bad FirmwareData",
                    data ? "wrong offset or empty" : data.error().ToString());
      }
      run.ota_bytes += data->bytes.size();
      sdb_ota_result r = sdb_ota_image_update(&o.image, data->bytes.data(), data->bytes.size());
      if (r == SDB_OTA_OK && o.image.written < o.image.expected_length) return SendOta();
      if (r == SDB_OTA_OK) r = sdb_ota_image_finish(&o.image);
      if (r == SDB_OTA_OK) return OtaReport(kVerified, "");
      return OtaReport(kFailed, sdb_ota_result_name(r));
    }
    case wire::Message::Done:
      if (o.step == kVerified) {
        ++run.ota_verified;
        shard_.Acked(0, o.started, now);
      } else {
        ++run.ota_failed;
        run.errors.Add("ota: agent refused", o.reason);
      }
      return OtaFinish();
    default:
      return Fail("ota: unexpected message", protocol::MessageName(frame.type()));
  }
}

void DeviceSession::OtaFinish() {
  running_ = false;
  stopping_ = true;
  timer_.cancel();
  MaybeDrained();
}

}  // namespace sensordb::bench
