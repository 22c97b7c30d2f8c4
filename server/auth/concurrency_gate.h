// ConcurrencyGate: at most `limit` holders at once; TryEnter never waits. For work whose
// concurrency an unauthenticated peer could otherwise choose (each Argon2id check holds its
// memory cost, 64 MiB by default, and a core). Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>

namespace sensordb::server {

class ConcurrencyGate {
 public:
  explicit ConcurrencyGate(size_t limit) : limit_(limit == 0 ? 1 : limit) {}
  ConcurrencyGate(const ConcurrencyGate&) = delete;
  ConcurrencyGate& operator=(const ConcurrencyGate&) = delete;

  // A held place, given back when destroyed.
  class Pass {
   public:
    explicit Pass(ConcurrencyGate& gate) : gate_(&gate) {}
    Pass(Pass&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (gate_ != nullptr) gate_->inside_.fetch_sub(1, std::memory_order_release);
    }

   private:
    ConcurrencyGate* gate_;
  };

  // A place, or nullopt when `limit` are inside.
  std::optional<Pass> TryEnter() {
    size_t n = inside_.load(std::memory_order_relaxed);
    do {
      if (n >= limit_) return std::nullopt;
    } while (!inside_.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                            std::memory_order_relaxed));
    return Pass(*this);
  }

  size_t inside() const { return inside_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> inside_{0};
};

}  // namespace sensordb::server
