// Byte encodings shared by the on-disk formats and the stored records of every part:
// big-endian fixed ints (sortable keys), LEB128 varints and zigzag, length-prefixed strings,
// and RecordWriter/RecordReader, the compact encoding of the server's system records (accounts,
// tokens, grants, devices, audit entries; docs/AUTH.md "Stored records"). Decoders take input
// they consume from and return false on truncated or malformed input; they never read past the
// end. Internal to sensordb: not a stable API. Thread-safe (pure functions; the writer and
// reader are values).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace sensordb {

inline void PutFixed32BE(std::string* out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out->append(b, 4);
}
inline void PutFixed64BE(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = char(v >> (56 - 8 * i));
  out->append(b, 8);
}
inline uint32_t DecodeFixed32BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint64_t DecodeFixed64BE(const char* p) {
  return (uint64_t{DecodeFixed32BE(p)} << 32) | DecodeFixed32BE(p + 4);
}
inline bool GetFixed32BE(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32BE(in->data());
  in->remove_prefix(4);
  return true;
}
inline bool GetFixed64BE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64BE(in->data());
  in->remove_prefix(8);
  return true;
}

// Signed timestamps sort correctly as big-endian bytes once the sign bit is flipped.
inline uint64_t OrderedFromSigned(int64_t v) { return uint64_t(v) ^ (uint64_t{1} << 63); }
inline int64_t SignedFromOrdered(uint64_t v) { return int64_t(v ^ (uint64_t{1} << 63)); }

inline void PutVarint64(std::string* out, uint64_t v) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = char(v | 0x80);
    v >>= 7;
  }
  b[n++] = char(v);
  out->append(b, n);
}
inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; shift <= 63 && i < int(in->size()); shift += 7, ++i) {
    uint64_t byte = static_cast<unsigned char>((*in)[i]);
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      in->remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return false;
}

inline uint64_t ZigZagEncode(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t ZigZagDecode(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

inline void PutDouble(std::string* out, double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  PutFixed64BE(out, u);
}
inline bool GetDouble(std::string_view* in, double* d) {
  uint64_t u;
  if (!GetFixed64BE(in, &u)) return false;
  std::memcpy(d, &u, 8);
  return true;
}

// A record: U8 bytes, unsigned varints, signed (zigzag) varints, length-prefixed strings and
// byte strings, raw fixed-size byte strings.
class RecordWriter {
 public:
  void PutU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void PutVarint(uint64_t v) { PutVarint64(&out_, v); }
  void PutSigned(int64_t v) { PutVarint64(&out_, ZigZagEncode(v)); }
  void PutString(std::string_view s) { PutLengthPrefixed(&out_, s); }
  void PutBytes(std::span<const uint8_t> b) {
    PutString({reinterpret_cast<const char*>(b.data()), b.size()});
  }
  void PutRaw(std::span<const uint8_t> b) {
    out_.append(reinterpret_cast<const char*>(b.data()), b.size());
  }

  const std::string& data() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}

  bool GetU8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool GetVarint(uint64_t* v) { return GetVarint64(&in_, v); }
  bool GetSigned(int64_t* v) {
    uint64_t u = 0;
    if (!GetVarint64(&in_, &u)) return false;
    *v = ZigZagDecode(u);
    return true;
  }
  bool GetString(std::string* s) {
    std::string_view v;
    if (!GetLengthPrefixed(&in_, &v)) return false;
    s->assign(v);
    return true;
  }
  // Exactly out.size() raw bytes.
  bool GetRaw(std::span<uint8_t> out) {
    if (in_.size() < out.size()) return false;
    if (!out.empty()) std::memcpy(out.data(), in_.data(), out.size());
    in_.remove_prefix(out.size());
    return true;
  }
  // A length-prefixed byte string of exactly out.size() bytes.
  bool GetBytes(std::span<uint8_t> out) {
    uint64_t n = 0;
    return GetVarint(&n) && n == out.size() && GetRaw(out);
  }

  bool empty() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

}  // namespace sensordb
