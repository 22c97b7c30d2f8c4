// SealGate: lets ReencryptProject check that no value of a project is sealed under an older
// data key version, and destroy those versions, with no seal in flight: everything that seals a
// value and writes it (writes, block persistence, catalog updates) holds the gate shared, the
// final check holds it exclusively. Fair: a waiting exclusive holder keeps new shared holders
// out, so a steady stream of writes cannot starve it. Thread-safe; not recursive.
#pragma once

#include <mutex>
#include <shared_mutex>

namespace sensordb {

class SealGate {
 public:
  void lock_shared() {
    std::lock_guard turnstile(turnstile_);
    rw_.lock_shared();
  }
  void unlock_shared() { rw_.unlock_shared(); }
  void lock() {
    turnstile_.lock();
    rw_.lock();
  }
  void unlock() {
    rw_.unlock();
    turnstile_.unlock();
  }

 private:
  std::mutex turnstile_;
  std::shared_mutex rw_;
};

}  // namespace sensordb
