// Sequencer: lets writers that took consecutive sequence numbers apply their batches to the
// head in that order, while their RocksDB writes (and syncs) still overlap and group-commit.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sensordb {

class Sequencer {
 public:
  // `next` is the first sequence number Assign hands out.
  explicit Sequencer(uint64_t next) : next_(next), applied_(next - 1) {}

  uint64_t Assign() {
    std::lock_guard lock(mu_);
    return next_++;
  }
  // Blocks until every seq below `seq` has been Done.
  void WaitTurn(uint64_t seq) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return applied_ + 1 == seq; });
  }
  void Done(uint64_t seq) {
    {
      std::lock_guard lock(mu_);
      applied_ = seq;
    }
    cv_.notify_all();
  }
  // A writer's turn: Done(seq) runs exactly once, on every path (also when an exception
  // unwinds), so one failed writer never blocks the ones after it.
  class Turn {
   public:
    Turn(Sequencer& s, uint64_t seq) : s_(s), seq_(seq) {}
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn() { Done(); }
    void Wait() {
      s_.WaitTurn(seq_);
      waited_ = true;
    }
    void Done() {
      if (done_) return;
      if (!waited_) Wait();
      s_.Done(seq_);
      done_ = true;
    }

   private:
    Sequencer& s_;
    const uint64_t seq_;
    bool waited_ = false;
    bool done_ = false;
  };

  // Highest seq whose batch is in the head (or failed); every lower one is too.
  uint64_t applied() const {
    std::lock_guard lock(mu_);
    return applied_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_;     // GUARDED_BY(mu_)
  uint64_t applied_;  // GUARDED_BY(mu_)
};

}  // namespace sensordb
