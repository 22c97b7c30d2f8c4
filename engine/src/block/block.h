// Blocks: the sealed, immutable form of a series' points (engine/docs/format/block.md).
// A block body is a sequence of vectors (each: count, timestamps, values, by the column codecs);
// the block value in RocksDB carries a plaintext max timestamp (for retention), then one sealed
// part holding the summary and the optionally zstd-compressed body. Functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "block/point_column.h"
#include "crypto/cipher.h"
#include "sensordb/status.h"
#include "store/keys.h"

namespace sensordb::block {

inline constexpr uint8_t kBlockFormatVersion = 1;

// Appends one vector holding the points of `run` (at most kMaxVectorValues) to `out`.
void AppendVector(const PointRun& run, std::string* out);
// Appends `run` as vectors of at most `vector_points` points each.
void AppendVectors(const PointRun& run, size_t vector_points, std::string* out);
// Decodes every vector of `body`, appending the points to `out` (whose type must be set).
Status DecodeVectors(std::string_view body, PointColumn* out);
// Rewrites `body` (vectors of `type` holding `points` points) as vectors of kMaxVectorValues
// points: one vector for a chunk, instead of the head's small ones. Each vector repeats its
// codecs' heads (first timestamp and delta, value scale and parameters, ~20 bytes), and codecs
// adapt better to more values. A body that is already one vector is left as it is, undecoded;
// on an error `body` is unchanged.
Status CoalesceVectors(ValueType type, size_t points, std::string* body);

struct BlockOptions {
  bool zstd = true;
  int zstd_level = 3;
};

// Builds the RocksDB value of a block for `key`, whose points are `body` (vectors of a sorted,
// duplicate-free run) summarised by `summary`.
Result<std::string> EncodeBlockValue(const crypto::Cipher& cipher, const store::BlockKey& key,
                                     std::string_view encoded_key, const Summary& summary,
                                     std::string_view body, const BlockOptions& options);

// The plaintext header and the sealed part of a block value; views into the value.
struct BlockView {
  int64_t max_ts = 0;
  std::string_view header;  // version and max_ts, bound to the seal as associated data
  std::string_view sealed;
};
bool ParseBlockValue(std::string_view value, BlockView* view);
// The same layout (version byte, max_ts, sealed part) with another version byte (block groups).
bool ParseSealedValue(std::string_view value, uint8_t version, BlockView* view);

// An opened block: its summary, and its data (flags + body) still compressed. `data` points into
// `plain` or, with a passthrough cipher, into the value itself.
struct OpenedBlock {
  Summary summary;
  std::string_view data;
  std::string plain;
  // A group member is decoded to compute its summary (block_group.md): its points, kept so that
  // a reader need not decode `data` again. Empty (and `decoded` false) for a block.
  bool decoded = false;
  PointColumn points;
};
Status OpenBlock(const crypto::Cipher& cipher, uint32_t project, std::string_view encoded_key,
                 const BlockView& view, OpenedBlock* out);
// Decompresses and decodes an opened block's data, appending its points to `out`.
Status DecodeBlockData(std::string_view data, PointColumn* out);

// zstd stage shared by blocks and head records: flags byte, then the raw or compressed body.
void CompressBody(std::string_view body, const BlockOptions& options, std::string* out);
Status DecompressBody(std::string_view in, std::string* scratch, std::string_view* body);

}  // namespace sensordb::block
