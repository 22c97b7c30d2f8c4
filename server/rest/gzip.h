// Bounded gzip inflation of request bodies (Content-Encoding: gzip), with zlib. A body that
// inflates past `max_bytes` stops there (a decompression bomb costs at most max_bytes of
// memory). Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::server::rest {

// The inflated bytes of one or more concatenated gzip members. ResourceExhausted past
// `max_bytes`; InvalidArgument when `in` is not gzip or is truncated.
Result<std::string> Gunzip(std::string_view in, size_t max_bytes);

}  // namespace sensordb::server::rest
