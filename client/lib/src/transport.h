// Transport: the client's one TLS 1.3 connection and its io thread — resolve, TCP connect,
// certificate verification, then a read loop that cuts the stream into verified frames and a
// write queue that gathers queued frames into one write. The only user of Boost.Asio and
// OpenSSL in the client library: boost::system::error_code and OpenSSL reasons become Status
// here. Internal to client/lib/.
//
// Threads: Open, Send and Close may be called from any thread (Close not from the io thread);
// the listener's methods are called on the io thread only, one at a time.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "sensordb/client/client_options.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/status.h"

namespace sensordb::client {

// Receives what the connection delivers, on the io thread.
class TransportListener {
 public:
  virtual ~TransportListener() = default;
  virtual void OnFrame(protocol::Frame frame) = 0;
  // The connection is gone (called once): why, for the pending requests.
  virtual void OnClosed(const Status& why) = 0;
  // Every kTickInterval while connected, for request deadlines.
  virtual void OnTick() = 0;
};

class Transport {
 public:
  static constexpr std::chrono::milliseconds kTickInterval{50};

  // `listener` must outlive the Transport.
  explicit Transport(TransportListener& listener);
  ~Transport();  // Close()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts the io thread, connects and completes the TLS handshake within
  // options.connect_timeout_ms, then starts reading. Call once.
  Status Open(const ClientOptions& options);
  // Queues a frame (any thread). `secret`: the payload holds a credential and is wiped once
  // written. Dropped silently after the connection closed (its request has failed by then).
  void Send(protocol::OutFrame frame, bool secret = false);
  // Closes the connection (OnClosed with kFailedPrecondition "client closed" unless it closed
  // before) and joins the io thread. Idempotent.
  void Close();
  bool OnIoThread() const { return std::this_thread::get_id() == io_thread_id_; }

 private:
  struct Io;  // Asio objects, kept out of this header
  TransportListener& listener_;
  std::unique_ptr<Io> io_;
  std::mutex close_mu_;  // serialises Close()
  std::thread thread_;
  std::thread::id io_thread_id_;
};

}  // namespace sensordb::client
