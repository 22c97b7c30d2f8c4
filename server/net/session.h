// Session: one client connection — TLS handshake, frames through a FrameDecoder into a
// RequestHandler, replies written back in order, handshake and idle deadlines. Lives in
// shared_ptrs held by its pending Asio operations; all of its work runs on its strand.
// Internal to server/net/ (the only includer of Asio headers besides client_listener.cc).
#pragma once

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/client_listener.h"
#include "net/request_handler.h"
#include "sensordb/protocol/frame.h"

namespace sensordb::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct ListenerIo {
  explicit ListenerIo(asio::ssl::context::method method) : ssl(method), acceptor(io) {}
  asio::io_context io;
  asio::ssl::context ssl;
  tcp::acceptor acceptor;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ClientListener& listener, tcp::socket socket, std::string peer_address);
  ~Session();

  void Start();
  // From any thread: finish the request being served, then close.
  void RequestStop();

 private:
  using Clock = std::chrono::steady_clock;
  void OnHandshake(const boost::system::error_code& ec);
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Write();
  void OnWritten(const boost::system::error_code& ec);
  void Shutdown();
  void Close();
  void SetDeadline(Clock::duration d);
  void WaitDeadline();

  ClientListener& listener_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  Clock::time_point deadline_;
  const std::string peer_;
  protocol::FrameDecoder decoder_;
  RequestHandler handler_;
  std::array<uint8_t, 64 * 1024> read_buf_{};
  VectorSink replies_;
  std::vector<protocol::OutFrame> pending_;
  bool reading_ = false;
  bool close_after_write_ = false;
  bool stop_requested_ = false;
  bool closed_ = false;
  bool armed_ = false;  // a deadline wait is pending
};

}  // namespace sensordb::server
