// Edge coverage for libFuzzer from GCC's -fsanitize-coverage=trace-pc (see
// cmake/SensordbFuzzing.cmake for why). Each instrumented basic block calls
// __sanitizer_cov_trace_pc(); its return address, hashed, picks one of 64 Ki 8-bit counters
// that libFuzzer reads after each input. Collisions merge a few edges, as in AFL; comparisons
// still reach libFuzzer exactly through trace-cmp.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t* begin, uint8_t* end);
extern "C" void __sanitizer_cov_pcs_init(const uintptr_t* begin, const uintptr_t* end);

namespace {

constexpr size_t kCounters = size_t{1} << 16;
alignas(64) uint8_t counters[kCounters];
// libFuzzer's table of {pc, flags} per counter; the "pc" is the counter's index + 1 here.
alignas(64) uintptr_t pc_table[2 * kCounters];

__attribute__((constructor)) void RegisterCounters() {
  for (size_t i = 0; i < kCounters; ++i) pc_table[2 * i] = i + 1;
  __sanitizer_cov_8bit_counters_init(counters, counters + kCounters);
  __sanitizer_cov_pcs_init(pc_table, pc_table + 2 * kCounters);
}

}  // namespace

extern "C" __attribute__((no_sanitize_coverage, no_sanitize("address", "undefined"))) void
__sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  pc ^= pc >> 17;
  counters[(pc * 0x9E3779B97F4A7C15ull) >> 48]++;  // the top 16 bits of a multiplicative hash
}

// GCC also traces floating-point comparisons, which libFuzzer has no hook for: ignored.
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpd(double, double) {}
