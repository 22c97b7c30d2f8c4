// RecordWriter / RecordReader: the compact encoding of the server's system records (accounts,
// tokens, grants, audit entries; docs/AUTH.md "Stored records"). Unsigned integers are LEB128
// varints, signed ones zigzag varints, strings and byte strings a varint length then the bytes.
// Readers never read past the end: every Get returns false on truncated or malformed input.
// Not thread-safe (values).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sensordb::server {

class RecordWriter {
 public:
  void PutU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void PutSigned(int64_t v) {
    PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void PutString(std::string_view s) {
    PutVarint(s.size());
    out_.append(s);
  }
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
  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63 && !in_.empty(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      result |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool GetSigned(int64_t* v) {
    uint64_t u = 0;
    if (!GetVarint(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool GetString(std::string* s) {
    uint64_t n = 0;
    if (!GetVarint(&n) || n > in_.size()) return false;
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  // Exactly out.size() raw bytes.
  bool GetRaw(std::span<uint8_t> out) {
    if (in_.size() < out.size()) return false;
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(in_[i]);
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

}  // namespace sensordb::server
