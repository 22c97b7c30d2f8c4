// What /proc says about a process (the server under test, or this one) and the file-descriptor
// limit of this one: the device benchmarks report the server's CPU time and resident memory.
// Plain functions, thread-safe (they only read /proc and call getrlimit/setrlimit).
#pragma once

#include <cstdint>

namespace sensordb::bench {

// utime + stime of `pid`, in seconds; -1 when unreadable (no such process, no permission).
double ProcessCpuSeconds(int pid);
// VmRSS of `pid`, in bytes; -1 when unreadable.
int64_t ProcessRssBytes(int pid);
// This process (getpid()).
double SelfCpuSeconds();
int64_t SelfRssBytes();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
uint64_t RaiseFileLimit();

}  // namespace sensordb::bench
