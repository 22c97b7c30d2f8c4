// boost::system::error_code is translated to Status here, as in client_listener.cc.
#include "net/listener_core.h"

#include <cerrno>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace sensordb::server {

namespace asio = boost::asio;

struct Admission::Slot::Pending {
  std::string address;
  std::chrono::steady_clock::time_point since;
  Evict evict;  // GUARDED_BY(Admission::mu_), as are the two below
  bool in_pool = true;
  std::list<std::shared_ptr<Pending>>::iterator at;
};

Admission::Slot& Admission::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    Reset();
    admission_ = std::move(o.admission_);
    pending_ = std::move(o.pending_);
  }
  return *this;
}

Admission::Slot::~Slot() { Reset(); }

void Admission::Slot::Reset() {
  if (admission_ != nullptr) admission_->Release(*pending_);
  admission_.reset();
  pending_.reset();
}

void Admission::Slot::SetEvict(Evict evict) {
  if (admission_ == nullptr) return;
  std::lock_guard lock(admission_->mu_);
  pending_->evict = std::move(evict);
}

void Admission::Slot::Authenticated() {
  if (admission_ == nullptr) return;
  std::lock_guard lock(admission_->mu_);
  admission_->LeavePreauthLocked(*pending_);
}

Admission::Slot Admission::Acquire(const std::string& address) {
  Slot::Evict evict;
  Slot slot;
  {
    std::lock_guard lock(mu_);
    if (counters_.active >= limits_.max_connections) {
      ++counters_.refused_total_cap;
      return {};
    }
    auto all = per_address_.find(address);
    if (all != per_address_.end() && all->second >= limits_.max_connections_per_address) {
      ++counters_.refused_address_cap;
      return {};
    }
    auto pre = preauth_per_address_.find(address);
    if (pre != preauth_per_address_.end() && pre->second >= limits_.max_preauth_per_address) {
      evict = EvictLocked(&address);  // the address's own longest-waiting peer
      if (!evict) {
        ++counters_.refused_preauth_address_cap;
        return {};
      }
    } else if (counters_.preauth_active >= limits_.max_preauth) {
      evict = EvictLocked(nullptr);
      if (!evict) {
        ++counters_.refused_preauth_cap;
        return {};
      }
    }
    auto p = std::make_shared<Slot::Pending>();
    p->address = address;
    p->since = std::chrono::steady_clock::now();
    p->at = preauth_.insert(preauth_.end(), p);
    ++per_address_[address];
    ++preauth_per_address_[address];
    ++counters_.active;
    ++counters_.preauth_active;
    ++counters_.accepted;
    slot = Slot(shared_from_this(), std::move(p));
  }
  if (evict) evict(PreauthEnd::kPoolFull);
  return slot;
}

std::vector<Admission::Slot::Evict> Admission::TakeExpired(
    std::chrono::steady_clock::time_point now,
    std::optional<std::chrono::steady_clock::time_point>* next) {
  std::vector<Slot::Evict> expired;
  next->reset();
  std::lock_guard lock(mu_);
  for (auto it = preauth_.begin(); it != preauth_.end();) {
    Slot::Pending& p = **it++;  // LeavePreauthLocked erases p from the list
    const auto deadline = p.since + limits_.preauth_timeout;
    if (deadline > now) {  // oldest first: no later one expires sooner
      *next = deadline;
      break;
    }
    if (!p.evict) continue;  // cannot be closed from here (a listener without Evict)
    expired.push_back(std::move(p.evict));
    LeavePreauthLocked(p);
    ++counters_.expired_preauth;
  }
  return expired;
}

Admission::Slot::Evict Admission::EvictLocked(const std::string* address) {
  const auto oldest = std::chrono::steady_clock::now() - limits_.evict_after;
  for (const auto& p : preauth_) {
    if (p->since > oldest) break;  // oldest first: no later one has waited longer
    if (!p->evict || (address != nullptr && p->address != *address)) continue;
    Slot::Evict evict = std::move(p->evict);
    LeavePreauthLocked(*p);
    ++counters_.evicted_preauth;
    return evict;
  }
  return {};
}

void Admission::LeavePreauthLocked(Slot::Pending& p) {
  if (!p.in_pool) return;
  p.in_pool = false;
  preauth_.erase(p.at);
  --counters_.preauth_active;
  auto it = preauth_per_address_.find(p.address);
  if (it != preauth_per_address_.end() && --it->second == 0) preauth_per_address_.erase(it);
}

void Admission::Release(Slot::Pending& p) {
  std::lock_guard lock(mu_);
  LeavePreauthLocked(p);
  --counters_.active;
  auto it = per_address_.find(p.address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

ListenerCounters Admission::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void Admission::CountBackoff() {
  std::lock_guard lock(mu_);
  ++counters_.accept_backoffs;
}

AcceptLoop::AcceptLoop(asio::io_context& io, std::string name, AdmissionLimits limits,
                       OnConnection on_connection)
    : io_(io),
      name_(std::move(name)),
      admission_(std::make_shared<Admission>(limits)),
      on_connection_(std::move(on_connection)),
      acceptor_(asio::make_strand(io)),
      retry_(acceptor_.get_executor()),
      deadline_(acceptor_.get_executor()) {}

AcceptLoop::~AcceptLoop() = default;

Result<std::unique_ptr<AcceptLoop>> AcceptLoop::Open(asio::io_context& io, std::string name,
                                                     const std::string& address, uint16_t port,
                                                     AdmissionLimits limits,
                                                     OnConnection on_connection) {
  std::unique_ptr<AcceptLoop> loop(
      new AcceptLoop(io, std::move(name), limits, std::move(on_connection)));
  const std::string where = address + ":" + std::to_string(port);
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) {
    return Err(Status::InvalidArgument("the " + loop->name_ + " listener address '" + address +
                                       "' is not an IP address: " + ec.message()));
  }
  const tcp::endpoint endpoint(ip, port);
  loop->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) loop->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) loop->acceptor_.bind(endpoint, ec);
  if (!ec) loop->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) loop->port_ = loop->acceptor_.local_endpoint(ec).port();
  if (ec) {
    return Err(Status::IOError("cannot listen for " + loop->name_ + " on " + where + ": " +
                               ec.message()));
  }
  return loop;
}

void AcceptLoop::Start() {
  asio::post(acceptor_.get_executor(), [this] { Accept(); });
}

void AcceptLoop::Close() {
  closed_.store(true, std::memory_order_release);
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    deadline_.cancel();
  });
}

void AcceptLoop::Accept() {
  if (closed_.load(std::memory_order_acquire) || !acceptor_.is_open()) return;
  acceptor_.async_accept(
      asio::make_strand(io_), [this](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) return Backoff(ec);
        backoff_ = std::chrono::milliseconds(0);
        if (!closed_.load(std::memory_order_acquire)) {
          boost::system::error_code pec;
          const tcp::endpoint peer = socket.remote_endpoint(pec);
          std::string address = pec ? "unknown" : peer.address().to_string();
          Admission::Slot slot = admission_->Acquire(address);
          if (slot) {
            on_connection_(std::move(socket), std::move(address), std::move(slot));
            ArmDeadline(std::chrono::steady_clock::now() + admission_->limits().preauth_timeout);
          } else {
            boost::system::error_code ignored;
            socket.close(ignored);
            if (on_refused_) on_refused_();
          }
        }
        Accept();
      });
}

// Armed only when no pre-auth connection has a deadline still to come, so `at` (the newest
// connection's) is the next one; the sweep re-arms for the oldest that remains.
void AcceptLoop::ArmDeadline(std::chrono::steady_clock::time_point at) {
  if (deadline_armed_) return;
  deadline_armed_ = true;
  deadline_.expires_at(at);
  deadline_.async_wait([this](const boost::system::error_code& ec) {
    deadline_armed_ = false;
    if (!ec && !closed_.load(std::memory_order_acquire)) OnDeadline();
  });
}

// On the strand, like accepts: an Evict runs where a pool-full eviction would.
void AcceptLoop::OnDeadline() {
  std::optional<std::chrono::steady_clock::time_point> next;
  const auto now = std::chrono::steady_clock::now();
  for (Admission::Slot::Evict& evict : admission_->TakeExpired(now, &next)) {
    evict(PreauthEnd::kDeadline);
  }
  if (next) ArmDeadline(*next);
}

// Out of descriptors (EMFILE, ENFILE) or kernel memory, accept fails at once for as long as the
// condition lasts: accepting again at once would spin a core. Wait 10 ms, doubling up to 1 s,
// while pending connections stay in the kernel's backlog; other errors (a peer that reset
// before accept) are retried at once.
void AcceptLoop::Backoff(const boost::system::error_code& ec) {
  const int e = ec.value();
  const bool exhausted = ec.category() == boost::system::system_category() &&
                         (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM);
  if (!exhausted) return Accept();
  admission_->CountBackoff();
  backoff_ = std::min(std::chrono::milliseconds(1000),
                      std::max(std::chrono::milliseconds(10), backoff_ * 2));
  const auto now = std::chrono::steady_clock::now();
  if (now - last_logged_ > std::chrono::seconds(10)) {
    last_logged_ = now;
    std::fprintf(stderr,
                 "sensordbd: %s listener: cannot accept (%s); pausing accepts, retrying every "
                 "%lld ms at most (raise the open-files limit or lower limits.max_connections)\n",
                 name_.c_str(), ec.message().c_str(), static_cast<long long>(backoff_.count()));
  }
  retry_.expires_after(backoff_);
  retry_.async_wait([this](const boost::system::error_code& wait_ec) {
    if (!wait_ec) Accept();
  });
}

}  // namespace sensordb::server
