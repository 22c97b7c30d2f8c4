// SecretString: a string that holds a secret (a freshly issued API token, a password the server
// generated) and wipes its bytes with sodium_memzero when it is destroyed, moved from or cleared.
// Move-only; never logged. Not thread-safe (a value).
#pragma once

#include <string>
#include <string_view>

namespace sensordb::server {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view s) : s_(s) {}
  SecretString(SecretString&& other) noexcept : s_(other.s_) { other.Wipe(); }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      Wipe();
      s_ = other.s_;
      other.Wipe();
    }
    return *this;
  }
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { Wipe(); }

  std::string_view view() const { return s_; }
  size_t size() const { return s_.size(); }
  bool empty() const { return s_.empty(); }
  // Appends without reallocating when `reserve` was called with the final size.
  void Reserve(size_t n) { s_.reserve(n); }
  void Append(std::string_view part) { s_.append(part); }

  // Overwrites every byte of the buffer (up to its capacity), then empties it.
  void Wipe();

 private:
  std::string s_;
};

}  // namespace sensordb::server
