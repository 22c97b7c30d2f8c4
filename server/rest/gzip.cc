#include "rest/gzip.h"

#include <zlib.h>

#include <array>

namespace sensordb::server::rest {

Result<std::string> Gunzip(std::string_view in, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    return Err(Status::Internal("zlib: cannot initialise inflation"));
  }
  std::string out;
  std::array<unsigned char, 64 * 1024> buf;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  Status status;
  for (;;) {
    z.next_out = buf.data();
    z.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = buf.size() - z.avail_out;
    if (out.size() + produced > max_bytes) {
      status = Status::ResourceExhausted("the gzip body inflates to more than " +
                                         std::to_string(max_bytes) + " bytes (rest.max_body_bytes)");
      break;
    }
    out.append(reinterpret_cast<const char*>(buf.data()), produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Concatenated members (gzip -c a b): inflate the next one.
      if (inflateReset(&z) != Z_OK) {
        status = Status::Internal("zlib: cannot reset inflation");
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      status = Status::InvalidArgument("the gzip body is truncated");
      break;
    }
    if (rc != Z_OK) {
      status = Status::InvalidArgument(std::string("the body is not valid gzip: ") +
                                       (z.msg != nullptr ? z.msg : "inflate failed"));
      break;
    }
  }
  inflateEnd(&z);
  if (!status.ok()) return Err(status);
  return out;
}

}  // namespace sensordb::server::rest
