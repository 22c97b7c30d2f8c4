// The firmware agent's costs on this machine (issue 16's target: a 1 MiB image verified in at
// most 20 ms): the manifest check (two Ed25519 signatures, decoding), install (the manifest
// again and the whole slot hashed), the boot check (the slot hashed), and the streamed hash as
// an image arrives in 64 KiB chunks. Slots are in memory: flash reads are the integrator's.
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <cstring>
#include <functional>
#include <vector>

#include "ota_fixture.h"
#include "sensordb/ota.h"

namespace {

using sensordb::ota_fuzz::Bytes;
using sensordb::ota_fuzz::Fixture;

void BM_CheckManifest(benchmark::State& state) {
  if (sdb_ota_init() != SDB_OTA_OK) return state.SkipWithError("libsodium");
  const Fixture f(1 << 20);
  sdb_ota_store store{};
  if (!f.Provision(&store)) return state.SkipWithError("provision");
  const Bytes manifest = f.SignedManifest();
  for (auto _ : state) {
    sdb_ota_manifest m;
    if (sdb_ota_check_manifest(&store, manifest.data(), manifest.size(), nullptr, &m) !=
        SDB_OTA_OK) {
      return state.SkipWithError("refused");
    }
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_CheckManifest)->Unit(benchmark::kMicrosecond);

void BM_Install(benchmark::State& state) {
  if (sdb_ota_init() != SDB_OTA_OK) return state.SkipWithError("libsodium");
  Fixture f(size_t(state.range(0)));
  sdb_ota_store store{};
  if (!f.Provision(&store)) return state.SkipWithError("provision");
  f.RecordOffer(&store);
  const Bytes manifest = f.SignedManifest();
  for (auto _ : state) {
    sdb_ota_store s = store;
    if (sdb_ota_install(&s, manifest.data(), manifest.size(), Fixture::Read, &f) != SDB_OTA_OK) {
      return state.SkipWithError("refused");
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Install)->Arg(1 << 20)->Arg(8 << 20)->Unit(benchmark::kMillisecond);

void BM_BootCheck(benchmark::State& state) {
  if (sdb_ota_init() != SDB_OTA_OK) return state.SkipWithError("libsodium");
  Fixture f(size_t(state.range(0)));
  sdb_ota_store store{};
  if (!f.Provision(&store)) return state.SkipWithError("provision");
  for (auto _ : state) {
    uint32_t slot = 0;
    if (sdb_ota_boot(&store, Fixture::Read, &f, &slot) != SDB_OTA_OK) {
      return state.SkipWithError("refused");
    }
    benchmark::DoNotOptimize(slot);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_BootCheck)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_StreamedImage(benchmark::State& state) {
  if (sdb_ota_init() != SDB_OTA_OK) return state.SkipWithError("libsodium");
  const Fixture f(1 << 20);
  sdb_ota_manifest m{};
  m.image_length = f.image.size();
  crypto_hash_sha256(m.image_sha256, f.image.data(), f.image.size());
  for (auto _ : state) {
    sdb_ota_image img;
    sdb_ota_image_begin(&img, &m);
    for (size_t off = 0; off < f.image.size(); off += 65536) {
      (void)sdb_ota_image_update(&img, f.image.data() + off, 65536);
    }
    if (sdb_ota_image_finish(&img) != SDB_OTA_OK) return state.SkipWithError("hash");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(f.image.size()));
}
BENCHMARK(BM_StreamedImage)->Unit(benchmark::kMillisecond);

// Bytes of stack `fn` touches, libsodium included: run on a thread whose stack is a painted
// buffer, counted from the low end to the first byte written, less what an empty function
// touches (glibc keeps the thread's descriptor and TLS at the top of a caller-given stack).
size_t StackTouched(const std::function<void()>& fn) {
  constexpr size_t kStack = 1 << 20;
  constexpr uint8_t kPaint = 0xa5;
  auto run = [&](const std::function<void()>& body) -> size_t {
    std::vector<uint8_t> stack(kStack, kPaint);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack.data(), stack.size());
    pthread_t t;
    auto call = [](void* p) -> void* {
      (*static_cast<const std::function<void()>*>(p))();
      return nullptr;
    };
    if (pthread_create(&t, &attr, call, const_cast<std::function<void()>*>(&body)) != 0) return 0;
    pthread_join(t, nullptr);
    pthread_attr_destroy(&attr);
    size_t untouched = 0;
    while (untouched < stack.size() && stack[untouched] == kPaint) ++untouched;
    return stack.size() - untouched;
  };
  const size_t baseline = run([] {});
  const size_t used = run(fn);
  return used > baseline ? used - baseline : 0;
}

// Stack of each call a device makes (counters, in bytes; the time column means nothing here).
void BM_StackUse(benchmark::State& state) {
  if (sdb_ota_init() != SDB_OTA_OK) return state.SkipWithError("libsodium");
  Fixture f(1 << 16);
  sdb_ota_store store{};
  if (!f.Provision(&store)) return state.SkipWithError("provision");
  const Bytes manifest = f.SignedManifest();
  const Bytes root = f.SignedRoot();
  const Bytes next = f.SignedNextRoot();
  static const uint8_t nonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Bytes fresh = f.SignedFreshness(nonce);
  for (auto _ : state) {
    sdb_ota_store s = store;
    state.counters["provision"] = double(StackTouched([&] {
      sdb_ota_store p{};
      (void)sdb_ota_provision(&p, "greenhouse", "dl-7", "DL-200", root.data(), root.size(),
                              sensordb::ota_fuzz::kNow, 0, f.image.size(), 1, Fixture::Read, &f);
    }));
    state.counters["accept_root"] =
        double(StackTouched([&] { (void)sdb_ota_accept_root(&s, next.data(), next.size()); }));
    s = store;
    f.PendRequest(&s, nonce);
    state.counters["accept_freshness"] = double(StackTouched(
        [&] { (void)sdb_ota_accept_freshness(&s, fresh.data(), fresh.size(), nullptr); }));
    f.RecordOffer(&s);  // the statement offered SignedManifest(); the same again, to be sure
    state.counters["install"] = double(StackTouched(
        [&] { (void)sdb_ota_install(&s, manifest.data(), manifest.size(), Fixture::Read, &f); }));
    state.counters["boot"] = double(StackTouched([&] {
      uint32_t slot;
      (void)sdb_ota_boot(&s, Fixture::Read, &f, &slot);
    }));
  }
}
BENCHMARK(BM_StackUse)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
