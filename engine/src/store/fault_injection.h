// Faults injected at the file-system layer under RocksDB, switched on and off while a database
// runs: the tests of issue 12 use them to show that a failed write, sync or read is an error to
// its caller (never an acknowledgement, never wrong data) and that the database recovers once
// the fault clears, without a reopen (but for the one case docs/write_path.md names).
// Thread-safe (atomics). No RocksDB type: store.cc wraps RocksDB's file system with it when
// StoreOptions::faults is set.
#pragma once

#include <atomic>
#include <cstdint>

namespace sensordb::store {

struct FaultInjection {
  std::atomic<bool> fail_writes{false};  // appends to any file (WAL, SST, MANIFEST) fail
  std::atomic<bool> fail_syncs{false};   // fsync/fdatasync of any file fails
  std::atomic<bool> fail_reads{false};   // reads of SST files fail
  std::atomic<bool> fail_dir_syncs{false};  // fsync of a directory fails
  // Appends to write-ahead logs created while this is set fail (the log RocksDB switches to
  // when a write fills the memtables: the failed write is then the first of a new log).
  std::atomic<bool> fail_new_log_writes{false};
  std::atomic<uint64_t> injected{0};     // how many operations failed so far
};

}  // namespace sensordb::store
