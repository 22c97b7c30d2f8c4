// The part every TCP listener of sensordbd shares (native client, device stream, MQTT, REST,
// metrics): bind and listen with one wording of errors, an accept loop that backs off instead
// of spinning when the process is out of file descriptors (EMFILE, ENFILE) or buffers, and
// admission: connection caps in total and per peer address, and a smaller pool for
// connections that have not authenticated yet, in total and per address, so that idle
// unauthenticated peers can never take the slots authenticated sessions hold; and the pre-auth
// deadline: a connection that has not authenticated in time is closed here, whatever its
// protocol. Each protocol plugs in what it does with an admitted socket and how to close it.
// docs/SERVER.md, "Limits". Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sensordb/status.h"

namespace sensordb::server {

struct AdmissionLimits {
  uint32_t max_connections = 1024;
  uint32_t max_connections_per_address = 64;
  // Connections not yet authenticated (TLS handshake, Hello and Auth; a REST connection until
  // its first request is admitted): a pool of their own within max_connections.
  uint32_t max_preauth = 256;
  uint32_t max_preauth_per_address = 16;
  // When the pre-auth pool is full, the connection that has waited longest is closed to make
  // room, if it has waited at least this long: a flood of idle peers cannot keep a new client
  // from authenticating, and a handshake in progress gets this much time.
  std::chrono::milliseconds evict_after{1000};
  // A connection still in the pre-auth pool this long after it was accepted is closed (TLS
  // handshake and the protocol's own authentication together).
  std::chrono::milliseconds preauth_timeout{10'000};
};

// Why the core closes a connection that has not authenticated.
enum class PreauthEnd {
  kPoolFull,  // the pre-auth pool (or the address's share) needed its place
  kDeadline,  // AdmissionLimits::preauth_timeout passed
};

struct ListenerCounters {
  uint64_t accepted = 0;
  uint64_t refused_total_cap = 0;
  uint64_t refused_address_cap = 0;
  uint64_t refused_preauth_cap = 0;          // the pre-auth pool was full
  uint64_t refused_preauth_address_cap = 0;  // the address's share of it was
  uint64_t evicted_preauth = 0;              // closed to make room in the pre-auth pool
  uint64_t expired_preauth = 0;              // closed at the pre-auth deadline
  uint64_t accept_backoffs = 0;              // accept paused: out of descriptors or buffers
  uint64_t active = 0;
  uint64_t preauth_active = 0;
};

class Admission : public std::enable_shared_from_this<Admission> {
 public:
  explicit Admission(AdmissionLimits limits) : limits_(limits) {}

  // One admitted connection: counted until destroyed (it keeps the Admission alive, so a
  // connection may outlive its listener's accept loop). Starts in the pre-auth pool.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept = default;
    Slot& operator=(Slot&& o) noexcept;
    ~Slot();
    // How to close this connection while it has not authenticated: when the pre-auth pool
    // needs its place or its deadline passes (called at most once, on the accept loop's
    // strand, without locks held). Without one the core can neither evict nor expire it, so
    // every listener sets one as it takes the connection.
    using Evict = std::function<void(PreauthEnd)>;
    void SetEvict(Evict evict);
    // Leaves the pre-auth pool (the peer has authenticated); idempotent.
    void Authenticated();
    explicit operator bool() const { return admission_ != nullptr; }

   private:
    friend class Admission;
    struct Pending;
    Slot(std::shared_ptr<Admission> a, std::shared_ptr<Pending> p)
        : admission_(std::move(a)), pending_(std::move(p)) {}
    void Reset();
    std::shared_ptr<Admission> admission_;
    std::shared_ptr<Pending> pending_;
  };

  // A slot for a new connection from `address`, or an empty one (counted) when a cap is hit.
  // The Admission must be owned by a shared_ptr.
  Slot Acquire(const std::string& address);
  ListenerCounters Counters() const;
  const AdmissionLimits& limits() const { return limits_; }
  void CountBackoff();
  // Takes every connection whose pre-auth deadline has passed at `now` out of the pool (counted
  // expired) and returns how to close them; `next` is set to the next deadline, if any.
  std::vector<Slot::Evict> TakeExpired(std::chrono::steady_clock::time_point now,
                                       std::optional<std::chrono::steady_clock::time_point>* next);

 private:
  void Release(Slot::Pending& p);
  void LeavePreauthLocked(Slot::Pending& p);
  // Takes the longest-waiting evictable pre-auth connection (of `address`, if given) out of
  // the pool; its evict function, or nothing.
  Slot::Evict EvictLocked(const std::string* address);

  const AdmissionLimits limits_;
  mutable std::mutex mu_;
  ListenerCounters counters_;                             // GUARDED_BY(mu_)
  std::map<std::string, uint32_t> per_address_;           // GUARDED_BY(mu_)
  std::map<std::string, uint32_t> preauth_per_address_;   // GUARDED_BY(mu_)
  std::list<std::shared_ptr<Slot::Pending>> preauth_;     // GUARDED_BY(mu_); oldest first
};

// Binds, listens and accepts on an io_context the caller runs; each admitted connection goes
// to `on_connection` with its slot (on the accept strand), which sets the slot's Evict before it
// returns. One timer on the same strand closes connections at their pre-auth deadline.
// Close() stops accepting and expiring.
class AcceptLoop {
 public:
  using tcp = boost::asio::ip::tcp;
  using OnConnection = std::function<void(tcp::socket, std::string address, Admission::Slot)>;

  // `name` says which listener in errors and logs ("REST", "client", "metrics", ...).
  static Result<std::unique_ptr<AcceptLoop>> Open(boost::asio::io_context& io, std::string name,
                                                  const std::string& address, uint16_t port,
                                                  AdmissionLimits limits, OnConnection on_connection);
  ~AcceptLoop();
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  uint16_t port() const { return port_; }
  // Called for each connection refused at a cap (before Start).
  void SetOnRefused(std::function<void()> f) { on_refused_ = std::move(f); }
  void Start();
  // Closes the listening socket (posted to the io_context); connections already admitted stay.
  void Close();
  ListenerCounters Counters() const { return admission_->Counters(); }

 private:
  AcceptLoop(boost::asio::io_context& io, std::string name, AdmissionLimits limits,
             OnConnection on_connection);
  void Accept();
  void Backoff(const boost::system::error_code& ec);
  void ArmDeadline(std::chrono::steady_clock::time_point at);
  void OnDeadline();

  boost::asio::io_context& io_;
  const std::string name_;
  std::shared_ptr<Admission> admission_;
  OnConnection on_connection_;
  std::function<void()> on_refused_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer deadline_;
  bool deadline_armed_ = false;  // on the acceptor's strand
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_logged_{};
  std::atomic<bool> closed_{false};
  uint16_t port_ = 0;
};

}  // namespace sensordb::server
