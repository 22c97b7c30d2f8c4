// Options of an embedded database. Plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sensordb/keys.h"
#include "sensordb/types.h"

namespace sensordb {

class Clock;

// Bounds on the series (device, channel) that writes may create, so that a writer or a device
// cannot grow the catalog (held in memory) without end. A batch that would pass one is refused
// whole with kResourceExhausted and creates nothing; series that exist keep taking points, also
// when a bound is lowered below what a project holds. 0: no bound.
struct SeriesQuota {
  uint32_t max_series_per_project = 1'000'000;
  uint32_t max_series_per_device = 10'000;
  // New series of one device per minute (a fixed one-minute window per device, starting at its
  // first new series; writes only, not RegisterChannel).
  uint32_t max_new_series_per_device_per_minute = 1'000;
};

// Bounds on device labels (docs/LABELS.md); a write or label change that would pass one is
// refused whole (kResourceExhausted) naming the bound.
struct LabelLimits {
  uint32_t max_keys_per_project = 64;
  uint32_t max_values_per_key = 100'000;  // distinct values of one key in a project
  uint32_t max_keys_per_device = 32;
  // History entries of one device over all its keys: a tag that changes with every reading
  // (a counter, a GPS fix) is a field, not a label.
  uint32_t max_changes_per_device = 10'000;
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
  // ... or when its first point was appended this long ago (wall clock, Options::clock).
  uint32_t chunk_max_age_s = 3600;

  // Compress each block with zstd after the codecs (the codecs alone already compress).
  bool block_zstd = true;
  int block_zstd_level = 3;
  // Compress each head record (one per write, engine/docs/format/head_record.md) of 4 KiB or more
  // with zstd at this level before it is sealed; 0 stores the codecs' bytes as they are.
  int head_zstd_level = 1;

  // Head checkpoints: every open chunk sealed into blocks, the head records they replace deleted
  // and compacted away, so a running database gets to its compact size by itself
  // (engine/docs/format/head_record.md, "Checkpoints"). The maintenance thread runs one when the
  // head records written since the last one pass head_checkpoint_bytes (0: never for size), and
  // when no write has come for head_idle_checkpoint_s by Options::clock (0: never when idle) and
  // those records hold at least head_idle_checkpoint_min_bytes (so that a fleet pausing between
  // readings does not seal a block of one point per series at every pause).
  // A bound on the head's absolute size (memory, replay time), not on bytes per point: chunks
  // that fill seal by themselves, and each checkpoint cuts every open chunk short (measured: at
  // 16 MiB, embedded 100-point batches stored 1.56 bytes/point instead of 0.76).
  size_t head_checkpoint_bytes = 256 * 1024 * 1024;
  uint32_t head_idle_checkpoint_s = 10;
  size_t head_idle_checkpoint_min_bytes = 1024 * 1024;
  // Memory the head's open chunks may hold (encoded vectors and raw tails): past it, the
  // maintenance thread seals the largest chunks until they hold three quarters of it. Many
  // series, each too short to fill a chunk, would otherwise hold memory until chunk_max_age_s
  // or a checkpoint. 0: no bound.
  size_t head_memory_bytes = 256 * 1024 * 1024;
  // Short blocks (a series' chunk cut by a checkpoint or by age, a short series): DB::Compact
  // merges consecutive blocks of one series whose stored values are at most this many bytes,
  // and that overlap no other block of the series, into one of at most chunk_max_points points
  // (engine/docs/format/block_group.md). 0: never.
  size_t merge_block_bytes = 2048;
  // Short blocks that stay short (a series of a few points, a series that stopped): after the
  // merge above, DB::Compact puts blocks of one project and one UTC day whose stored values are
  // at most this many bytes into block groups (one envelope, one zstd frame for up to
  // group_target_bytes of their data; engine/docs/format/block_group.md). 0: never.
  // Blocks of more than group_max_points points stay apart (their fixed cost is spread thin
  // already, and reading one would mean opening its whole group: measured on a time-major fleet
  // with 1000-point blocks, grouped, an hourly mean over all devices took 19.5 ms instead of 6.5).
  size_t group_block_bytes = 2048;
  size_t group_max_points = 256;
  size_t group_target_bytes = 256 * 1024;
  // A running database merges and groups short blocks by itself, as DB::Compact does, after
  // each idle head checkpoint (head_idle_checkpoint_s) and otherwise every this many seconds by
  // Options::clock, then compacts the key ranges it rewrote so that the replaced values leave
  // the disk. 0: only DB::Compact does.
  uint32_t short_block_interval_s = 3600;

  // Bounds on one Write call; larger batches are refused with kResourceExhausted.
  size_t max_batch_points = 16 * 1024 * 1024;
  size_t max_batch_series = 1024 * 1024;
  SeriesQuota series_quota;
  LabelLimits label_limits;

  // RocksDB memtable budget shared by all column families.
  size_t write_buffer_bytes = 32 * 1024 * 1024;
  // RocksDB block cache.
  size_t block_cache_bytes = 32 * 1024 * 1024;
  // Threads one aggregate over many series may use (merged: each folds a share into its own
  // buckets; per series: each folds a share into rows the caller emits in series order).
  uint32_t query_threads = 2;
  // Buckets with points one aggregate may hold at once (a 128-byte map node each; per series when
  // per_series, else over all series, and each of query_threads may hold as many before the
  // merge): beyond it the aggregate is ResourceExhausted. 0 = no bound.
  size_t max_aggregate_buckets = 1'000'000;
  // Opened block summaries kept in memory (about 150 bytes each), so aggregates answered from
  // summaries do not decrypt whole blocks again.
  size_t summary_cache_entries = 200'000;

  // Background maintenance (sealing aged chunks, dropping expired blocks). 0 disables the thread;
  // Flush() and EnforceRetention() still work on demand.
  uint32_t maintenance_interval_ms = 1000;
  uint32_t retention_interval_s = 3600;

  // Where the engine reads the time: chunk ageing (chunk_max_age_s), retention's "now" and its
  // schedule, the series quota's one-minute windows. nullptr: Clock::System(). Tests pass a
  // simulated clock (sensordb/clock.h); it must outlive the database.
  const Clock* clock = nullptr;
};

}  // namespace sensordb
