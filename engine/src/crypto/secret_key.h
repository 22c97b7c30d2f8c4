// SecretKey: 32 bytes of key material in libsodium's guarded, locked (mlock) memory, wiped when
// freed. The only type that holds keys; never copied, never logged. Not thread-safe to mutate;
// const access from many threads is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sensordb/status.h"

namespace sensordb::crypto {

// Calls sodium_init once; every crypto entry point calls it first.
Status InitSodium();

class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  static Result<SecretKey> Random();
  static Result<SecretKey> FromBytes(std::span<const uint8_t> bytes);  // bytes.size() == kSize
  // Allocates an all-zero key for the caller to fill through mutable_data().
  static Result<SecretKey> Empty();

  SecretKey(SecretKey&& other) noexcept : p_(other.p_) { other.p_ = nullptr; }
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const uint8_t* data() const { return p_; }
  uint8_t* mutable_data() { return p_; }

 private:
  explicit SecretKey(uint8_t* p) : p_(p) {}
  uint8_t* p_ = nullptr;
};

}  // namespace sensordb::crypto
