#include "device_fleet.h"

#include <openssl/ssl.h>

#include <future>

#include "device_session.h"

namespace sensordb::bench {

struct DeviceFleet::Shared {
  FleetPlan plan;
  asio::ssl::context tls{asio::ssl::context::tls_client};
};

DeviceFleet::Shard::Shard(const FleetPlan& p, asio::ssl::context& t, tcp::endpoint e,
                          int fleet_devices, int connecting_max)
    : plan(p),
      tls(t),
      endpoint(std::move(e)),
      max_connecting(connecting_max),
      fleet(fleet_devices, p.channels),
      values(size_t(p.channels)),
      publish(mqtt::Publish{}) {
  for (int c = 0; c < p.channels; ++c) {
    channel_names.push_back(fleet.ChannelName(c));
    field_prefixes.push_back((c == 0 ? "" : ",") + channel_names.back() + "=");
  }
}

void DeviceFleet::Shard::Launch() {
  while (launched < sessions.size() && connecting < max_connecting) {
    ++connecting;
    sessions[launched++]->Start();
  }
}

void DeviceFleet::Shard::SetupDone(bool ok, Clock::duration took) {
  --connecting;
  if (ok) {
    last_ready = Clock::now();
    setup.connect_ms.push_back(float(std::chrono::duration<double, std::milli>(took).count()));
    ++setup.established;
  } else {
    ++setup.failed;
  }
  setup_done.fetch_add(1, std::memory_order_release);
  // Posted, not called: a session failing inside Start must not recurse through Launch.
  asio::post(io, [this] { Launch(); });
}

void DeviceFleet::Shard::Drained() { drained.fetch_add(1, std::memory_order_release); }

void DeviceFleet::Shard::Acked(uint64_t points, Clock::time_point sent, Clock::time_point now) {
  run.points_acked += points;
  ++run.requests_acked;
  run.ack_ms.push_back(float(std::chrono::duration<double, std::milli>(now - sent).count()));
  last_ack = now;
}

void DeviceFleet::Shard::Watchdog() {
  if (closing) return;
  const auto now = Clock::now();
  for (auto& s : sessions) s->Check(now);
  watchdog.expires_after(std::chrono::milliseconds(250));
  watchdog.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Watchdog();
  });
}

Result<std::unique_ptr<DeviceFleet>> DeviceFleet::Create(
    const FleetPlan& plan, const std::vector<DeviceIdentity>& devices) {
  std::unique_ptr<DeviceFleet> fleet(new DeviceFleet());
  fleet->shared_ = std::make_unique<Shared>();
  Shared& shared = *fleet->shared_;
  shared.plan = plan;
  if (shared.plan.server_name.empty()) shared.plan.server_name = plan.host;
  SSL_CTX* ctx = shared.tls.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // Idle sessions then hold no TLS record buffers (10 000 of them add up).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  shared.tls.load_verify_file(plan.ca_file, ec);
  if (ec) {
    return Err(Status::InvalidArgument("cannot load the server CA --ca-file " + plan.ca_file +
                                       ": " + ec.message()));
  }
  shared.tls.set_verify_mode(asio::ssl::verify_peer);

  asio::io_context resolver_io;
  tcp::resolver resolver(resolver_io);
  auto found = resolver.resolve(plan.host, std::to_string(plan.port), ec);
  if (ec || found.empty()) {
    return Err(Status::InvalidArgument("cannot resolve " + plan.host + ": " + ec.message()));
  }
  const tcp::endpoint endpoint = *found.begin();
  boost::system::error_code not_ip;
  asio::ip::make_address(shared.plan.server_name, not_ip);

  const int threads = std::max(1, plan.io_threads);
  const int per_shard = std::max(1, plan.connect_concurrency / threads);
  for (int t = 0; t < threads; ++t) {
    fleet->shards_.push_back(
        std::make_unique<Shard>(shared.plan, shared.tls, endpoint, int(devices.size()), per_shard));
    fleet->shards_.back()->server_name_is_ip = !not_ip;
  }
  size_t next = 0;
  for (size_t d = 0; d < devices.size(); ++d) {
    if (!devices[d].certificate || !devices[d].key) continue;
    Shard& shard = *fleet->shards_[next++ % fleet->shards_.size()];
    shard.sessions.push_back(std::make_unique<DeviceSession>(shard, devices[d], int(d)));
  }
  for (auto& shard : fleet->shards_) {
    Shard* s = shard.get();
    s->thread = std::thread([s] { s->io.run(); });
  }
  return fleet;
}

DeviceFleet::~DeviceFleet() { Close(); }

namespace {

// Polls `done` until it returns true or `deadline` passes (the sessions bound themselves; this
// bounds the wait even if one forgot to).
template <typename Done>
bool WaitUntil(Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The result of `fn` run on the shard's io thread.
template <typename Fn>
auto OnShard(DeviceFleet::Shard& shard, Fn fn) {
  std::promise<decltype(fn())> promise;
  auto future = promise.get_future();
  asio::post(shard.io, [&] { promise.set_value(fn()); });
  return future.get();
}

}  // namespace

SetupReport DeviceFleet::Connect() {
  const auto t0 = Clock::now();
  uint64_t total = 0;
  for (auto& shard : shards_) {
    total += shard->sessions.size();
    Shard* s = shard.get();
    asio::post(s->io, [s] {
      s->Watchdog();
      s->Launch();
    });
  }
  const FleetPlan& plan = shared_->plan;
  // Each connect is bounded by connect_timeout_ms and at most max_connecting run at once.
  const auto bound =
      std::chrono::milliseconds(uint64_t(plan.connect_timeout_ms) *
                                (total / uint64_t(std::max(1, plan.connect_concurrency)) + 2));
  WaitUntil(
      [&] {
        uint64_t done = 0;
        for (auto& s : shards_) done += s->setup_done.load(std::memory_order_acquire);
        return done >= total;
      },
      t0 + bound);
  SetupReport report;
  Clock::time_point last = t0;
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    SetupReport part = OnShard(*s, [s] { return std::move(s->setup); });
    last = std::max(last, OnShard(*s, [s] { return s->last_ready; }));
    report.established += part.established;
    report.failed += part.failed;
    report.connect_ms.insert(report.connect_ms.end(), part.connect_ms.begin(),
                             part.connect_ms.end());
    report.failures.Merge(part.failures);
  }
  if (total - report.established > report.failed) {  // connects still unfinished at the bound
    report.failures.Add("timeout: setup", "not established when the setup phase ended",
                        total - report.established - report.failed);
    report.failed = total - report.established;
  }
  report.seconds = std::chrono::duration<double>(last - t0).count();
  return report;
}

RunReport DeviceFleet::Run() {
  const FleetPlan& plan = shared_->plan;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(plan.duration_s));
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    asio::post(s->io, [s, end] {
      uint64_t begun = 0;
      for (auto& session : s->sessions) {
        if (!session->ready()) continue;
        ++begun;
        session->Begin(end);
      }
      s->begun.store(begun, std::memory_order_release);
      s->begin_posted.store(true, std::memory_order_release);
      s->end_timer.expires_at(end);
      s->end_timer.async_wait([s](const boost::system::error_code& ec) {
        if (ec) return;
        for (auto& session : s->sessions) session->Stop();
      });
    });
  }
  const auto drain_deadline = end + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(plan.drain_timeout_s));
  const bool drained = WaitUntil(
      [&] {
        for (auto& s : shards_) {
          if (!s->begin_posted.load(std::memory_order_acquire) ||
              s->drained.load(std::memory_order_acquire) <
                  s->begun.load(std::memory_order_acquire)) {
            return false;
          }
        }
        return plan.ota || Clock::now() >= end;  // an update run ends with its last report
      },
      drain_deadline);
  RunReport report;
  Clock::time_point last_ack = start;
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    RunReport part = OnShard(*s, [s, drained] {
      if (!drained) {
        for (auto& session : s->sessions) session->Abandon();
      }
      return std::move(s->run);
    });
    last_ack = std::max(last_ack, OnShard(*s, [s] { return s->last_ack; }));
    report.points_acked += part.points_acked;
    report.requests_acked += part.requests_acked;
    report.requests_unacked += part.requests_unacked;
    report.sessions_lost += part.sessions_lost;
    report.ack_ms.insert(report.ack_ms.end(), part.ack_ms.begin(), part.ack_ms.end());
    report.errors.Merge(part.errors);
    report.ota_verified += part.ota_verified;
    report.ota_not_offered += part.ota_not_offered;
    report.ota_failed += part.ota_failed;
    report.ota_bytes += part.ota_bytes;
    report.ota_rate_limited += part.ota_rate_limited;
    report.ota_unfinished += part.ota_unfinished;
  }
  // An update run without a verified device ends early too: its own length, not the duration.
  const auto last = last_ack == start && plan.ota ? Clock::now() : last_ack;
  report.seconds = plan.idle || last == start ? plan.duration_s
                                              : std::chrono::duration<double>(last - start).count();
  return report;
}

void DeviceFleet::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    asio::post(s->io, [s] {
      s->closing = true;
      s->watchdog.cancel();
      s->end_timer.cancel();
      for (auto& session : s->sessions) session->Close();
      s->work.reset();
    });
  }
  for (auto& shard : shards_) {
    if (shard->thread.joinable()) shard->thread.join();
  }
}

}  // namespace sensordb::bench
