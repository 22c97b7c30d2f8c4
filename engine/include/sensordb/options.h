// Options of an embedded database. Plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sensordb/keys.h"

namespace sensordb {

class Clock;

enum class Durability : uint8_t {
  kSync,   // Write returns once the batch is on disk (fsync); concurrent writers share a sync.
  kAsync,  // Write returns once the batch is in the OS; a process crash loses nothing, a power
           // loss may lose the last writes.
};

struct Options {
  bool create_if_missing = true;

  // Master key of encryption at rest (required). Every value on disk is sealed with a
  // per-project data key wrapped by this key; see docs/SECURITY.md.
  KeySource key;
  // Tests and benchmarks only: store values unencrypted. A database is created either
  // encrypted or not and must always be opened the same way.
  bool insecure_plaintext_for_testing = false;

  Durability durability = Durability::kSync;

  // A head chunk is sealed into a block when it holds this many points ...
  uint32_t chunk_max_points = 4096;
  // ... or when its first point was appended this long ago (wall clock).
  uint32_t chunk_max_age_s = 3600;

  // Compress each block with zstd after the codecs (the codecs alone already compress).
  bool block_zstd = true;
  int block_zstd_level = 3;

  // Bounds on one Write call; larger batches are refused with kResourceExhausted.
  size_t max_batch_points = 16 * 1024 * 1024;
  size_t max_batch_series = 1024 * 1024;

  // RocksDB memtable budget shared by all column families.
  size_t write_buffer_bytes = 32 * 1024 * 1024;
  // RocksDB block cache.
  size_t block_cache_bytes = 32 * 1024 * 1024;
  // Threads one aggregate over many series (merged, not per series) may use.
  uint32_t query_threads = 2;
  // Opened block summaries kept in memory (about 150 bytes each), so aggregates answered from
  // summaries do not decrypt whole blocks again.
  size_t summary_cache_entries = 200'000;

  // Background maintenance (sealing aged chunks, dropping expired blocks). 0 disables the thread;
  // Flush() and EnforceRetention() still work on demand.
  uint32_t maintenance_interval_ms = 1000;
  uint32_t retention_interval_s = 3600;
};

}  // namespace sensordb
