// The TLS settings every sensordbd listener shares: TLS 1.3 only (minimum and maximum), no
// renegotiation, no compression, the configured certificate chain and key, checked to match.
// Thread-safe (a new context per call).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "config/server_config.h"
#include "sensordb/status.h"

namespace sensordb::server {

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsConfig& tls);

}  // namespace sensordb::server
