// Test helpers for the firmware agent: Ed25519 keys held in plain memory (tests only), signed
// roots, manifests and freshness statements, and two slots in memory read through the agent's
// callback. Not thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "sensordb/ota.h"

namespace sensordb::ota_test {

using Bytes = std::vector<uint8_t>;

struct TestKey {
  uint8_t pk[SDB_OTA_KEY_BYTES];
  uint8_t sk[64];
  static TestKey Make();
};

// The signed container of `body` with one signature by each key, in order.
Bytes Sign(const Bytes& body, std::initializer_list<const TestKey*> keys);
Bytes EncodeRoot(const sdb_ota_root& r);
Bytes EncodeManifest(const sdb_ota_manifest& m);
Bytes EncodeFreshness(const sdb_ota_freshness& f);
Bytes Sha256(const Bytes& data);
// The body of a signed container.
Bytes BodyOf(const Bytes& signed_bytes);

// Two slots in memory; reads past a slot's end, or after `fail_reads_after` reads, fail.
struct Slots {
  Bytes slot[2];
  int fail_reads_after = -1;
  int reads = 0;
  static int Read(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len);
};

}  // namespace sensordb::ota_test
