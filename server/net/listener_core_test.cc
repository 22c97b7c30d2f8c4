// The listener core (listener_core.h): admission caps and the pre-auth pool, the pre-auth
// deadline, and an accept loop that does not spin when the process runs out of file descriptors
// (issue 13, defects 2 and 3).
#include "net/listener_core.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

namespace sensordb::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

AdmissionLimits Small() {
  AdmissionLimits l;
  l.max_connections = 10;
  l.max_connections_per_address = 6;
  l.max_preauth = 4;
  l.max_preauth_per_address = 3;
  l.evict_after = std::chrono::milliseconds(0);
  return l;
}

TEST(Admission, UnauthenticatedPeersNeverTakeTheSlotsOfAuthenticatedOnes) {
  auto a = std::make_shared<Admission>(Small());
  std::vector<Admission::Slot> authed;
  for (int i = 0; i < 6; ++i) {  // six authenticated sessions from six addresses
    Admission::Slot s = a->Acquire("10.0.0." + std::to_string(i));
    ASSERT_TRUE(s);
    s.Authenticated();
    authed.push_back(std::move(s));
  }
  // A flood of idle peers: at most the pre-auth pool (4) is held, 3 per address.
  std::vector<Admission::Slot> idle;
  for (int i = 0; i < 40; ++i) {
    Admission::Slot s = a->Acquire("192.0.2." + std::to_string(i % 2));
    if (s) idle.push_back(std::move(s));
  }
  EXPECT_EQ(idle.size(), 4u);
  ListenerCounters c = a->Counters();
  EXPECT_EQ(c.active, 10u);
  EXPECT_EQ(c.preauth_active, 4u);
  EXPECT_GT(c.refused_preauth_address_cap + c.refused_preauth_cap + c.refused_total_cap, 0u);
  // The authenticated sessions kept their slots; one ending frees a slot for a new one.
  authed.pop_back();
  EXPECT_EQ(a->Counters().active, 9u);
}

TEST(Admission, AFullPreauthPoolEvictsTheLongestWaitingPeer) {
  auto a = std::make_shared<Admission>(Small());
  std::vector<Admission::Slot> idle;
  int evicted = -1;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(a->Acquire("192.0.2." + std::to_string(i)));
    ASSERT_TRUE(idle.back());
    idle.back().SetEvict([&evicted, i](PreauthEnd why) {
      EXPECT_EQ(why, PreauthEnd::kPoolFull);
      evicted = i;
    });
  }
  // A new client from elsewhere gets in: the oldest idle peer is closed for it.
  Admission::Slot good = a->Acquire("198.51.100.7");
  ASSERT_TRUE(good);
  EXPECT_EQ(evicted, 0);
  ListenerCounters c = a->Counters();
  EXPECT_EQ(c.evicted_preauth, 1u);
  EXPECT_EQ(c.preauth_active, 4u);
  good.Authenticated();
  EXPECT_EQ(a->Counters().preauth_active, 3u);
  idle.erase(idle.begin());  // the evicted connection closes: its slot is released once
  c = a->Counters();
  EXPECT_EQ(c.active, 4u);
  EXPECT_EQ(c.preauth_active, 3u);
}

TEST(Admission, APeerStillHandshakingIsNotEvicted) {
  AdmissionLimits l = Small();
  l.evict_after = std::chrono::hours(1);
  auto a = std::make_shared<Admission>(l);
  std::vector<Admission::Slot> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(a->Acquire("192.0.2." + std::to_string(i)));
    idle.back().SetEvict(
        [](PreauthEnd) { ADD_FAILURE() << "evicted a peer that waited less than evict_after"; });
  }
  EXPECT_FALSE(a->Acquire("198.51.100.7"));
  EXPECT_EQ(a->Counters().refused_preauth_cap, 1u);
}

// The core, not each protocol, closes a connection that has not authenticated in time: the
// first and third peers never do, the second does at once. The third comes after the first has
// expired, so the deadline timer must arm again. Bounded: 1.5 s of io.
TEST(AcceptLoop, ClosesWhatHasNotAuthenticatedAtThePreauthDeadline) {
  asio::io_context io;
  AdmissionLimits limits;
  limits.preauth_timeout = std::chrono::milliseconds(200);
  std::vector<tcp::socket> held;
  std::vector<Admission::Slot> slots;
  std::vector<std::optional<PreauthEnd>> ends(3);
  auto loop = AcceptLoop::Open(
      io, "test", "127.0.0.1", 0, limits,
      [&](tcp::socket s, std::string, Admission::Slot slot) {
        const size_t i = slots.size();
        ASSERT_LT(i, ends.size());
        slot.SetEvict([&ends, i](PreauthEnd why) { ends[i] = why; });
        if (i == 1) slot.Authenticated();
        held.push_back(std::move(s));
        slots.push_back(std::move(slot));
      });
  ASSERT_TRUE(loop) << loop.error().ToString();
  (*loop)->Start();
  std::thread runner([&io] { io.run_for(std::chrono::milliseconds(1500)); });
  asio::io_context client_io;
  const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), (*loop)->port());
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 3; ++i) {
    if (i == 2) std::this_thread::sleep_for(std::chrono::milliseconds(400));
    clients.emplace_back(client_io).connect(server);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // accepted in this order
  }
  runner.join();
  EXPECT_EQ(ends[0], PreauthEnd::kDeadline);
  EXPECT_FALSE(ends[1].has_value()) << "an authenticated connection was closed";
  EXPECT_EQ(ends[2], PreauthEnd::kDeadline) << "the deadline timer did not arm again";
  const ListenerCounters c = (*loop)->Counters();
  EXPECT_EQ(c.expired_preauth, 2u);
  EXPECT_EQ(c.preauth_active, 0u);
  EXPECT_EQ(c.evicted_preauth, 0u);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Out of descriptors, accept fails at once for as long as it lasts: the loop must pause, not
// retry at once (which kept one to 1.4 cores busy). Bounded: 1 s of waiting, 64 connections.
TEST(AcceptLoop, OutOfDescriptorsBacksOffInsteadOfSpinning) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  asio::io_context io;
  std::vector<tcp::socket> held;
  AdmissionLimits limits;
  limits.max_preauth = limits.max_preauth_per_address = 1000;
  auto loop = AcceptLoop::Open(io, "test", "127.0.0.1", 0, limits,
                               [&held](tcp::socket s, std::string, Admission::Slot slot) {
                                 slot.Authenticated();
                                 held.push_back(std::move(s));
                               });
  ASSERT_TRUE(loop) << loop.error().ToString();
  (*loop)->Start();
  std::thread runner([&io] { io.run_for(std::chrono::milliseconds(2500)); });
  // The client sockets are made first (their descriptors taken), then the limit drops to a few
  // above the highest descriptor, then they connect: the server side runs out after a few
  // accepts while the rest wait in the backlog.
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 64; ++i) clients.emplace_back(io).open(tcp::v4());
  int highest = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) highest = fd;
  }
  std::vector<int> fillers;  // holes below `highest` would let accept go on
  for (int fd = open("/dev/null", O_RDONLY); fd >= 0; fd = open("/dev/null", O_RDONLY)) {
    fillers.push_back(fd);
    if (fd >= highest) break;
  }
  rlimit low = old;
  low.rlim_cur = rlim_t(highest + 4);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  for (tcp::socket& c : clients) {
    boost::system::error_code ec;
    c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), (*loop)->port()), ec);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double cpu_before = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const double cpu = CpuSeconds() - cpu_before;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  for (int fd : fillers) close(fd);
  runner.join();
  EXPECT_GT((*loop)->Counters().accept_backoffs, 0u) << "accept never ran out of descriptors";
  EXPECT_LT(cpu, 0.5) << "the accept loop spun: " << cpu << " CPU-s in 1 s of waiting";
}

}  // namespace
}  // namespace sensordb::server
