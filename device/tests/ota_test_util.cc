#include "ota_test_util.h"

#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace sensordb::ota_test {

TestKey TestKey::Make() {
  TestKey k;
  crypto_sign_keypair(k.pk, k.sk);
  return k;
}

Bytes Sign(const Bytes& body, std::initializer_list<const TestKey*> keys) {
  std::vector<std::array<uint8_t, SDB_OTA_KEY_ID_BYTES>> ids(keys.size());
  std::vector<std::array<uint8_t, SDB_OTA_SIG_BYTES>> sigs(keys.size());
  sdb_ota_signed s{};
  s.body = body.data();
  s.body_len = body.size();
  size_t i = 0;
  for (const TestKey* k : keys) {
    sdb_ota_key_id(k->pk, ids[i].data());
    crypto_sign_detached(sigs[i].data(), nullptr, body.data(), body.size(), k->sk);
    s.signatures[i] = {ids[i].data(), sigs[i].data()};
    ++i;
  }
  s.signature_count = static_cast<uint32_t>(keys.size());
  Bytes out(body.size() + 16 + keys.size() * 72);
  size_t len = 0;
  if (sdb_ota_encode_signed(&s, out.data(), out.size(), &len) != SDB_OTA_OK) {
    throw std::runtime_error("sdb_ota_encode_signed failed");
  }
  out.resize(len);
  return out;
}

namespace {
template <typename T, typename F>
Bytes Encode(const T& value, F encode) {
  Bytes out(4096);
  size_t len = 0;
  if (encode(&value, out.data(), out.size(), &len) != SDB_OTA_OK) {
    throw std::runtime_error("encoding refused");
  }
  out.resize(len);
  return out;
}
}  // namespace

Bytes EncodeRoot(const sdb_ota_root& r) { return Encode(r, sdb_ota_encode_root); }
Bytes EncodeManifest(const sdb_ota_manifest& m) { return Encode(m, sdb_ota_encode_manifest); }
Bytes EncodeFreshness(const sdb_ota_freshness& f) { return Encode(f, sdb_ota_encode_freshness); }

Bytes Sha256(const Bytes& data) {
  Bytes h(SDB_OTA_HASH_BYTES);
  crypto_hash_sha256(h.data(), data.data(), data.size());
  return h;
}

Bytes BodyOf(const Bytes& signed_bytes) {
  sdb_ota_signed s{};
  if (sdb_ota_open_signed(signed_bytes.data(), signed_bytes.size(), &s) != SDB_OTA_OK) {
    throw std::runtime_error("not a signed container");
  }
  return Bytes(s.body, s.body + s.body_len);
}

int Slots::Read(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len) {
  auto* self = static_cast<Slots*>(ctx);
  if (slot > 1 || (self->fail_reads_after >= 0 && self->reads >= self->fail_reads_after)) return -1;
  ++self->reads;
  const Bytes& b = self->slot[slot];
  if (offset > b.size() || len > b.size() - offset) return -1;
  std::memcpy(buf, b.data() + offset, len);
  return 0;
}

}  // namespace sensordb::ota_test
