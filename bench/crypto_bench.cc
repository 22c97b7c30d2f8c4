// The AEAD choice of docs/SECURITY.md, measured: XChaCha20-Poly1305 (what sensordb uses) against
// AES-256-GCM (hardware AES) on the message sizes sensordb seals — a block (~500 B), a catalog
// record (~60 B) and a head record (~100 KB).
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <vector>

namespace {

template <bool kAes>
void BM_Seal(benchmark::State& state) {
  if (sodium_init() < 0 || (kAes && !crypto_aead_aes256gcm_is_available())) {
    state.SkipWithError("AEAD not available on this CPU");
    return;
  }
  const size_t n = size_t(state.range(0));
  std::vector<unsigned char> msg(n, 0x5a), out(n + 16), key(32, 7), nonce(24, 1), ad(28, 3);
  unsigned long long clen = 0;
  for (auto _ : state) {
    randombytes_buf(nonce.data(), kAes ? 12 : 24);  // a fresh random nonce, as sensordb does
    if constexpr (kAes) {
      crypto_aead_aes256gcm_encrypt(out.data(), &clen, msg.data(), n, ad.data(), ad.size(),
                                    nullptr, nonce.data(), key.data());
    } else {
      crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &clen, msg.data(), n, ad.data(),
                                                 ad.size(), nullptr, nonce.data(), key.data());
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

BENCHMARK(BM_Seal<false>)->Name("XChaCha20Poly1305")->Arg(60)->Arg(500)->Arg(100000);
BENCHMARK(BM_Seal<true>)->Name("AES256GCM")->Arg(60)->Arg(500)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
