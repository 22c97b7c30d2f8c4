// A fixed firmware trust setup for ota_metadata_fuzz, its seeds (seed_writer.cc) and
// bench/ota_bench.cc: release
// keys and a freshness key derived from constant seeds, root version 1 (2 of 3), a provisioned
// device store, and signed metadata that passes its checks, so that inputs mutated from the
// seeds reach past the signatures. Test code only: the keys are public.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sensordb/ota.h"

namespace sensordb::ota_fuzz {

using Bytes = std::vector<uint8_t>;
inline constexpr int64_t kNow = 1796000000;

struct Key {
  uint8_t pk[32];
  uint8_t sk[64];
};

inline Key MakeKey(uint8_t n) {
  Key k;
  uint8_t seed[32];
  std::memset(seed, n, sizeof seed);
  crypto_sign_seed_keypair(k.pk, k.sk, seed);
  return k;
}

template <typename T, typename F>
Bytes Encode(const T& v, F f) {
  Bytes out(4096);
  size_t len = 0;
  if (f(&v, out.data(), out.size(), &len) != SDB_OTA_OK) return {};
  out.resize(len);
  return out;
}

inline Bytes SignWith(const Bytes& body, const std::vector<const Key*>& keys) {
  std::vector<std::array<uint8_t, 72>> entries(keys.size());
  sdb_ota_signed s{};
  s.body = body.data();
  s.body_len = body.size();
  for (size_t i = 0; i < keys.size(); ++i) {
    sdb_ota_key_id(keys[i]->pk, entries[i].data());
    crypto_sign_detached(entries[i].data() + 8, nullptr, body.data(), body.size(), keys[i]->sk);
    s.signatures[i] = {entries[i].data(), entries[i].data() + 8};
  }
  s.signature_count = static_cast<uint32_t>(keys.size());
  Bytes out(body.size() + 16 + 72 * keys.size());
  size_t len = 0;
  if (sdb_ota_encode_signed(&s, out.data(), out.size(), &len) != SDB_OTA_OK) return {};
  out.resize(len);
  return out;
}

struct Fixture {
  Key release[3] = {MakeKey(1), MakeKey(2), MakeKey(3)};
  Key fresh = MakeKey(4);
  Key next = MakeKey(5);
  Bytes image;

  explicit Fixture(size_t image_bytes = 4096) : image(image_bytes) {
    for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 131 + 7);
  }

  sdb_ota_root Root(uint64_t version, const Key& third) const {
    sdb_ota_root r{};
    std::strcpy(r.project, "greenhouse");
    r.version = version;
    r.threshold = 2;
    r.key_count = 3;
    std::memcpy(r.keys[0], release[0].pk, 32);
    std::memcpy(r.keys[1], release[1].pk, 32);
    std::memcpy(r.keys[2], third.pk, 32);
    std::memcpy(r.freshness_key, fresh.pk, 32);
    r.created_unix_s = kNow - 86400;
    r.expires_unix_s = kNow + 365 * 86400;
    return r;
  }
  Bytes SignedRoot() const {
    return SignWith(Encode(Root(1, release[2]), sdb_ota_encode_root), {&release[0], &release[1]});
  }
  // Version 2, replacing the third key: signed by the old threshold and the new one.
  Bytes SignedNextRoot() const {
    return SignWith(Encode(Root(2, next), sdb_ota_encode_root), {&release[0], &release[1], &next});
  }
  // Release 2.0.0 of the image for DL-200, security version 2, of root version 1.
  sdb_ota_manifest Manifest() const {
    sdb_ota_manifest m{};
    std::strcpy(m.project, "greenhouse");
    m.root_version = 1;
    std::strcpy(m.hardware_model, "DL-200");
    std::strcpy(m.version, "2.0.0");
    m.security_version = 2;
    m.image_length = image.size();
    crypto_hash_sha256(m.image_sha256, image.data(), image.size());
    m.created_unix_s = kNow;
    m.expires_unix_s = kNow + 86400;
    return m;
  }
  Bytes SignedManifest() const {
    return SignWith(Encode(Manifest(), sdb_ota_encode_manifest), {&release[0], &release[2]});
  }
  Bytes SignedFreshness(const uint8_t nonce[16]) const {
    sdb_ota_freshness f{};
    std::strcpy(f.project, "greenhouse");
    std::strcpy(f.device, "dl-7");
    std::memcpy(f.nonce, nonce, 16);
    f.server_unix_s = kNow + 60;
    f.valid_for_s = 600;
    f.has_offer = 1;
    const Bytes manifest = SignedManifest();
    sdb_ota_signed s{};
    sdb_ota_open_signed(manifest.data(), manifest.size(), &s);
    crypto_hash_sha256(f.manifest_sha256, s.body, s.body_len);
    return SignWith(Encode(f, sdb_ota_encode_freshness), {&fresh});
  }

  static int Read(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len) {
    const Bytes& img = static_cast<const Fixture*>(ctx)->image;
    if (slot > 1 || offset > img.size() || len > img.size() - offset) return -1;
    std::memcpy(buf, img.data() + offset, len);
    return 0;
  }
  // As if the device had asked with `nonce` and been offered SignedManifest(): what a store
  // holds between a request and its answer, and after the answer.
  void PendRequest(sdb_ota_store* store, const uint8_t nonce[16]) const {
    store->request_pending = 1;
    std::memcpy(store->request_nonce, nonce, 16);
  }
  void RecordOffer(sdb_ota_store* store) const {
    const Bytes manifest = SignedManifest();
    sdb_ota_signed s{};
    sdb_ota_open_signed(manifest.data(), manifest.size(), &s);
    crypto_hash_sha256(store->offered_sha256, s.body, s.body_len);
    store->has_offer = 1;
  }
  // A device of project greenhouse, model DL-200, running security version 1 in slot 0.
  bool Provision(sdb_ota_store* store) const {
    const Bytes root = SignedRoot();
    return sdb_ota_provision(store, "greenhouse", "dl-7", "DL-200", root.data(), root.size(), kNow,
                             0, image.size(), 1, Read, const_cast<Fixture*>(this)) == SDB_OTA_OK;
  }
};

}  // namespace sensordb::ota_fuzz
