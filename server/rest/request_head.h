// What RestHandler::Admit reads of a parsed HTTP request header: one mapping for the listener
// and for the fuzz target that drives the handler, so both judge a request by the same fields.
#pragma once

#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rest/rest_handler.h"

namespace sensordb::server::rest {

// Views into `req`, which must outlive the result.
inline RequestHead HeadOf(const boost::beast::http::request_header<>& req,
                          std::optional<uint64_t> content_length, std::string_view peer) {
  namespace http = boost::beast::http;
  RequestHead head;
  head.method = req.method_string();
  head.target = req.target();
  head.authorization = req[http::field::authorization];
  head.content_encoding = req[http::field::content_encoding];
  head.content_type = req[http::field::content_type];
  head.accept = req[http::field::accept];
  head.content_length = content_length;
  head.peer = peer;
  head.version = req.version();
  head.hosts = req.count(http::field::host);
  head.chunked = !req[http::field::transfer_encoding].empty();  // a body of unknown length
  return head;
}

}  // namespace sensordb::server::rest
