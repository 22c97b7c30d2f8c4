// ErrorTally: failures of a benchmark counted by reason ("tls handshake", "write refused:
// ResourceExhausted", ...), with the first message seen for each as an example. Reasons are
// few and fixed; messages (which name devices) stay out of the key so the tally stays small.
// Not thread-safe: keep one per thread and Merge at the end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace sensordb::bench {

class ErrorTally {
 public:
  struct Entry {
    uint64_t count = 0;
    std::string example;
  };

  void Add(const std::string& reason, std::string example, uint64_t n = 1) {
    Entry& e = by_reason_[reason];
    if (e.count == 0) e.example = std::move(example);
    e.count += n;
  }
  void Merge(const ErrorTally& other) {
    for (const auto& [reason, e] : other.by_reason_) Add(reason, e.example, e.count);
  }
  uint64_t total() const {
    uint64_t n = 0;
    for (const auto& [reason, e] : by_reason_) n += e.count;
    return n;
  }
  const std::map<std::string, Entry>& by_reason() const { return by_reason_; }

 private:
  std::map<std::string, Entry> by_reason_;
};

}  // namespace sensordb::bench
