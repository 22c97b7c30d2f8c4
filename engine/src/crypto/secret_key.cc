#include "crypto/secret_key.h"

#include <sodium.h>

#include <cstring>

namespace sensordb::crypto {

Status InitSodium() {
  static const int rc = sodium_init();  // thread-safe; 0 first time, 1 afterwards
  if (rc < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

Result<SecretKey> SecretKey::Empty() {
  SENSORDB_RETURN_IF_ERROR(InitSodium());
  auto* p = static_cast<uint8_t*>(sodium_malloc(kSize));
  if (!p) return Err(Status::ResourceExhausted("cannot allocate locked memory for a key"));
  sodium_memzero(p, kSize);
  return SecretKey(p);
}

Result<SecretKey> SecretKey::Random() {
  SENSORDB_ASSIGN_OR_RETURN(SecretKey k, Empty());
  randombytes_buf(k.p_, kSize);
  return k;
}

Result<SecretKey> SecretKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSize) {
    return Err(Status::InvalidArgument("a key is 32 bytes, got " + std::to_string(bytes.size())));
  }
  SENSORDB_ASSIGN_OR_RETURN(SecretKey k, Empty());
  std::memcpy(k.p_, bytes.data(), kSize);
  return k;
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    if (p_) sodium_free(p_);
    p_ = other.p_;
    other.p_ = nullptr;
  }
  return *this;
}

SecretKey::~SecretKey() {
  if (p_) sodium_free(p_);  // wipes before freeing
}

void Wipe(void* p, size_t n) {
  if (n != 0) sodium_memzero(p, n);
}

void WipeString(std::string& s) {
  Wipe(s.data(), s.size());
  s.clear();
}

void RandomBytes(std::span<uint8_t> out) {
  (void)InitSodium();  // randombytes_buf works without it (getrandom); init picks the best source
  randombytes_buf(out.data(), out.size());
}

void KeyedHash(const SecretKey& key, std::string_view in, std::span<uint8_t> out) {
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(in.data()),
                     in.size(), key.data(), SecretKey::kSize);
}

static_assert(sizeof(crypto_hash_sha256_state) <= 104 && alignof(crypto_hash_sha256_state) <= 8);

Sha256::Sha256() { crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_)); }

void Sha256::Update(std::string_view bytes) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::array<uint8_t, 32> Sha256::Digest() const {
  Sha256 copy = *this;
  std::array<uint8_t, 32> out{};
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(copy.state_), out.data());
  return out;
}

}  // namespace sensordb::crypto
