// The inside of DeviceFleet (device_fleet.h): a Shard is one io thread with its sessions and
// tallies; a DeviceSession is one simulated device's TLS session, native or MQTT. Everything
// here runs on the shard's thread only (no locks); the main thread talks to a shard by posting
// to its io_context, and reads the two atomic counters.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "device_fleet.h"
#include "fleet.h"
#include "mqtt/packet.h"
#include "mqtt/packet_decoder.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/write_batch.h"

namespace sensordb::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class DeviceSession;

struct DeviceFleet::Shard {
  // `plan` and `tls` must outlive the shard.
  Shard(const FleetPlan& plan, asio::ssl::context& tls, tcp::endpoint endpoint, int fleet_devices,
        int max_connecting);

  // Connect phase: starts sessions while fewer than max_connecting are in progress.
  void Launch();
  void SetupDone(bool ok, Clock::duration took);
  // Run phase: a session that began is drained (nothing more due) or lost, once.
  void Drained();
  // Every 250 ms: timeouts of connects, requests and pings.
  void Watchdog();
  void Acked(uint64_t points, Clock::time_point sent, Clock::time_point now);

  const FleetPlan& plan;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::ssl::context& tls;
  const tcp::endpoint endpoint;
  bool server_name_is_ip = false;
  asio::steady_timer watchdog{io};
  asio::steady_timer end_timer{io};
  std::vector<std::unique_ptr<DeviceSession>> sessions;

  size_t launched = 0;
  int connecting = 0;
  const int max_connecting;
  std::atomic<uint64_t> setup_done{0};  // sessions established or failed
  Clock::time_point last_ready{};
  std::atomic<uint64_t> begun{0};  // sessions that began the run
  std::atomic<uint64_t> drained{0};
  std::atomic<bool> begin_posted{false};
  // Set by Close: the watchdog stops re-arming (its handler may already be queued when
  // cancelled, and would otherwise keep the io_context busy for ever).
  bool closing = false;

  // Data generation, shared by the shard's sessions (one at a time: single thread).
  Fleet fleet;
  std::vector<std::string> channel_names;
  std::vector<std::string> field_prefixes;  // MQTT line protocol: "temperature=", ",humidity=" ...
  WriteBatch batch;
  std::vector<int64_t> ts;
  std::vector<std::vector<double>> values;  // per channel
  mqtt::Packet publish;                     // holds an mqtt::Publish, reused

  SetupReport setup;
  RunReport run;
  Clock::time_point last_ack{};

  std::thread thread;
};

class DeviceSession {
 public:
  // `identity` must outlive the session; `index` is the device's number in the fleet (its data).
  DeviceSession(DeviceFleet::Shard& shard, const DeviceIdentity& identity, int index);
  ~DeviceSession();

  void Start();  // TCP, TLS, Hello or CONNECT; then shard.SetupDone
  bool ready() const { return stage_ == Stage::kReady; }
  void Begin(Clock::time_point end);  // data (or pings) until Stop
  void Stop();                        // nothing new; shard.Drained once nothing is due
  void Check(Clock::time_point now);  // the watchdog's timeouts
  void Abandon();                     // the drain took too long: what is due is unacknowledged
  void Close();

 private:
  enum class Stage : uint8_t { kNew, kConnecting, kHandshaking, kGreeting, kReady, kDone };
  using Outgoing = std::variant<protocol::OutFrame, std::vector<uint8_t>>;
  struct InFlight {
    uint64_t id;  // request id, or MQTT packet id
    Clock::time_point sent;
    uint64_t points;
  };
  static constexpr size_t kReadBytes = 4096;

  bool mqtt() const;
  void OnConnected(const boost::system::error_code& ec);
  void OnHandshake(const boost::system::error_code& ec);
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void OnFrame(const protocol::Frame& frame);
  void OnPacket(const mqtt::Packet& packet);
  void Ready();
  void Pump();
  bool CanSend() const;
  void SendData();
  void SendNativeWrite();
  void SendPublish();
  void SendPing();
  void PingAcked();
  void ArmTimer(Clock::time_point at);
  void OnTimer();
  std::optional<InFlight> Take(uint64_t id);
  void Queue(Outgoing out);
  void Flush();
  void OnWritten(const boost::system::error_code& ec);
  void MaybeDrained();
  void Fail(const std::string& reason, const std::string& detail);
  // --ota (device_session.cc, "Firmware").
  struct Ota;
  void StartOta();
  void SendOta();
  void OnOtaFrame(const protocol::Frame& frame, Clock::time_point now);
  void OtaReport(uint8_t step, std::string reason);
  void OtaFinish();

  DeviceFleet::Shard& shard_;
  const DeviceIdentity& identity_;
  const int index_;
  std::string topic_;  // MQTT
  std::optional<asio::ssl::stream<tcp::socket>> stream_;
  asio::steady_timer timer_;
  Stage stage_ = Stage::kNew;
  Clock::time_point started_{};
  std::unique_ptr<uint8_t[]> read_buf_;
  std::optional<protocol::FrameDecoder> frames_;
  std::optional<mqtt::PacketDecoder> packets_;
  uint32_t max_frame_bytes_ = protocol::kDefaultMaxFrameBytes;

  std::deque<Outgoing> outbox_;
  std::vector<Outgoing> sending_;
  std::vector<asio::const_buffer> buffers_;
  bool writing_ = false;

  bool begun_ = false, running_ = false, stopping_ = false, drained_ = false;
  bool timer_armed_ = false;
  std::vector<InFlight> in_flight_;
  uint64_t next_id_ = 1;
  uint16_t next_packet_id_ = 1;
  int64_t next_sample_ = 0;
  Clock::time_point next_send_{};
  Clock::duration send_interval_{};
  bool ping_outstanding_ = false;
  uint64_t ping_id_ = 0;
  Clock::time_point ping_sent_{};
  uint64_t unconfirmed_points_ = 0;  // QoS 0: published, not yet confirmed by a PINGRESP
  uint64_t ping_confirms_ = 0;       // QoS 0: the points the outstanding PINGREQ confirms
  std::unique_ptr<Ota> ota_;
};

}  // namespace sensordb::bench
