// Bit-level I/O for the column codecs (engine/docs/format/columns.md). Bits are LSB-first: the
// first bit written is bit 0 of byte 0; a stream is padded with zero bits to a whole byte.
// BitWriter appends to a borrowed std::string that must outlive it. BitReader borrows its input
// and never reads outside it: a read past the end returns false (truncated input), so decoders
// turn it into Corruption. Not thread-safe (plain values); the free functions are.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace sensordb::block {

// Mask of the low `bits` bits, bits in [0, 64].
inline constexpr uint64_t LowMask(int bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

// Bytes taken by `n` values of `width` bits packed back to back.
inline constexpr size_t PackedBytes(size_t n, int width) { return (n * size_t(width) + 7) / 8; }

inline uint64_t LoadLE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

inline void AppendLE64(std::string* out, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}

class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Appends the low `bits` bits of `v`, bits in [0, 64]. Inlined: it is the inner loop of
  // every packing.
  [[gnu::always_inline]] void Write(uint64_t v, int bits) {
    if (bits == 0) return;
    v &= LowMask(bits);
    buf_ |= v << fill_;
    if (fill_ + bits < 64) {
      fill_ += bits;
      return;
    }
    AppendLE64(out_, buf_);
    const int used = 64 - fill_;
    buf_ = used < 64 ? v >> used : 0;
    fill_ = fill_ + bits - 64;
  }

  // Appends `q` zero bits then a one bit (unary code of q).
  void WriteUnary(uint64_t q) {
    for (; q >= 63; q -= 63) Write(0, 63);
    Write(uint64_t{1} << q, int(q) + 1);
  }

  // Writes the buffered bits, zero-padded to a byte. Call once, at the end.
  void Finish() {
    for (int b = 0; b < fill_; b += 8) out_->push_back(char(buf_ >> b));
    buf_ = 0;
    fill_ = 0;
  }

 private:
  std::string* out_;
  uint64_t buf_ = 0;
  int fill_ = 0;  // valid bits in buf_, always < 64
};

class BitReader {
 public:
  explicit BitReader(std::string_view in) : data_(in.data()), size_(in.size()) {}

  // Reads `bits` bits (in [0, 64]) into *v; false if the input ends first.
  bool Read(int bits, uint64_t* v) {
    if (bits > 0 && size_ * 8 - pos_ < size_t(bits)) return false;
    const size_t byte = pos_ >> 3;
    const int shift = int(pos_ & 7);
    uint64_t r;
    if (byte + 9 <= size_) {
      r = LoadLE64(data_ + byte) >> shift;
      if (shift + bits > 64) r |= uint64_t(static_cast<unsigned char>(data_[byte + 8])) << (64 - shift);
    } else {
      r = SlowLoad(byte, shift, bits);
    }
    *v = r & LowMask(bits);
    pos_ += size_t(bits);
    return true;
  }

  // Fast path for decoders: when CanPeek(), Peek() returns the next 57 or more bits (bit 0 is
  // the next bit) without consuming them, and Advance consumes bits the caller has decoded.
  bool CanPeek() const { return (pos_ >> 3) + 8 <= size_; }
  uint64_t Peek() const { return LoadLE64(data_ + (pos_ >> 3)) >> (pos_ & 7); }
  void Advance(size_t bits) { pos_ += bits; }

  // Reads a unary code (zero bits up to a one bit); false past the end or if it exceeds `max`.
  bool ReadUnary(uint64_t max, uint64_t* q) {
    uint64_t count = 0;
    for (;;) {
      const int avail = int(std::min<size_t>(57, size_ * 8 - pos_));
      if (avail == 0) return false;
      uint64_t w;
      if (!Read(avail, &w)) return false;
      if (w != 0) {
        const int tz = std::countr_zero(w);
        pos_ -= size_t(avail - tz - 1);
        count += uint64_t(tz);
        if (count > max) return false;
        *q = count;
        return true;
      }
      count += uint64_t(avail);
      if (count > max) return false;
    }
  }

  // Skips `bits` bits; false if the input ends first.
  bool Skip(size_t bits) {
    if (size_ * 8 - pos_ < bits) return false;
    pos_ += bits;
    return true;
  }

  // Whole bytes touched so far (the stream's length once fully read).
  size_t BytesConsumed() const { return (pos_ + 7) / 8; }

 private:
  uint64_t SlowLoad(size_t byte, int shift, int bits) const {
    uint64_t r = 0;
    const int need = shift + bits;
    for (int i = 0; i * 8 < need && byte + size_t(i) < size_; ++i) {
      const uint64_t b = static_cast<unsigned char>(data_[byte + size_t(i)]);
      const int at = i * 8 - shift;
      r |= at >= 0 ? (at < 64 ? b << at : 0) : b >> -at;
    }
    return r;
  }

  const char* data_;
  size_t size_;
  size_t pos_ = 0;  // bit position
};

// Appends values[i] & LowMask(width) for every i, PackedBytes(n, width) bytes in all.
inline void PackBits(std::span<const uint64_t> values, int width, std::string* out) {
  if (width == 0) return;
  BitWriter w(out);
  for (uint64_t v : values) w.Write(v, width);
  w.Finish();
}

// Reads out.size() values of `width` bits from the front of *in, consuming
// PackedBytes(out.size(), width) bytes; false (nothing consumed) if *in is shorter.
inline bool UnpackBits(std::string_view* in, int width, std::span<uint64_t> out) {
  const size_t n = out.size();
  if (width == 0) {
    std::fill(out.begin(), out.end(), 0);
    return true;
  }
  const size_t bytes = PackedBytes(n, width);
  if (width > 64 || in->size() < bytes) return false;
  const char* p = in->data();
  const uint64_t mask = LowMask(width);
  size_t i = 0;
  // Fast path: a 9-byte window [byte, byte + 9) lies inside the packed bytes.
  for (size_t bit = 0; i < n && (bit >> 3) + 9 <= bytes; ++i, bit += size_t(width)) {
    const size_t byte = bit >> 3;
    const int shift = int(bit & 7);
    uint64_t v = LoadLE64(p + byte) >> shift;
    if (shift + width > 64) v |= uint64_t(static_cast<unsigned char>(p[byte + 8])) << (64 - shift);
    out[i] = v & mask;
  }
  if (i < n) {
    BitReader tail(in->substr(0, bytes));
    if (!tail.Skip(i * size_t(width))) return false;
    for (; i < n; ++i) {
      if (!tail.Read(width, &out[i])) return false;
    }
  }
  in->remove_prefix(bytes);
  return true;
}

}  // namespace sensordb::block
