// SecretKey: 32 bytes of key material in libsodium's guarded, locked (mlock) memory, wiped when
// freed. The only type that holds keys; never copied, never logged. Not thread-safe to mutate;
// const access from many threads is fine. With it, the few primitives the rest of the engine
// needs (wiping, random bytes, a keyed hash), so that libsodium is called from crypto/ only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

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

// Overwrites `n` bytes at `p` in a way the compiler cannot remove.
void Wipe(void* p, size_t n);
// Wipes the bytes of `s` (plaintext that passed through a std::string), then empties it.
void WipeString(std::string& s);

// Fills `out` from the operating system's CSPRNG. Thread-safe.
void RandomBytes(std::span<uint8_t> out);

// BLAKE2b of `in` keyed with `key`, out.size() bytes (16 to 64). Thread-safe.
void KeyedHash(const SecretKey& key, std::string_view in, std::span<uint8_t> out);

// SHA-256 of a stream (project files: the hash their readers compare). Copyable: Digest of a
// copy leaves the original running.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view bytes);
  std::array<uint8_t, 32> Digest() const;

 private:
  alignas(8) uint8_t state_[104];  // crypto_hash_sha256_state, checked in secret_key.cc
};

}  // namespace sensordb::crypto
