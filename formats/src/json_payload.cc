// A SAX handler on Boost.JSON's basic_parser (linked from the shared libboost_json, never
// compiled in with boost/json/src.hpp): no DOM is built, and the handler sees what a DOM would
// hide (a duplicate key: boost::json::object keeps only the last). The shape allowed is fixed:
// depth 0 an object or an array, depth 1 (in the array) objects, and inside an object only
// scalars. Values of an object are held until its end, since "ts" may come last.
#include "sensordb/formats/json_payload.h"

#include <fmt/format.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "point_stager.h"

namespace sensordb::formats {
namespace {

namespace json = boost::json;

constexpr size_t kMaxTimeStringBytes = 64;
constexpr std::string_view kShape =
    R"(expected {"ts": <ns or RFC 3339>, "<channel>": <number or boolean>, ...} or an array of )"
    "such objects";

class PayloadHandler {
 public:
  static constexpr size_t max_array_size = static_cast<size_t>(-1);
  static constexpr size_t max_object_size = static_cast<size_t>(-1);
  static constexpr size_t max_string_size = static_cast<size_t>(-1);
  static constexpr size_t max_key_size = static_cast<size_t>(-1);

  explicit PayloadHandler(const PayloadOptions& options)
      : options_(options), stager_(options.limits.max_points) {}

  const Status& status() const { return status_; }
  const PointStager& stager() const { return stager_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_array_begin(json::error_code& ec) {
    if (depth_ > 0) return Fail(ec, Located(fmt::format("{} is an array; {}", What(), kShape)));
    top_is_array_ = true;
    ++depth_;
    return true;
  }

  bool on_array_end(size_t n, json::error_code& ec) {
    --depth_;
    if (n == 0) return Fail(ec, Status::InvalidArgument("the payload is an empty array"));
    return true;
  }

  bool on_object_begin(json::error_code& ec) {
    if (in_object_) {
      return Fail(ec, Located(fmt::format("{} is an object; {}", What(), kShape)));
    }
    if (++objects_ > options_.limits.max_lines) {
      return Fail(ec, Status::ResourceExhausted(fmt::format(
                          "the payload has more than {} objects (send it in smaller parts)",
                          options_.limits.max_lines)));
    }
    in_object_ = true;
    has_ts_ = false;
    keys_.clear();
    pending_.clear();
    ++depth_;
    return true;
  }

  bool on_object_end(size_t, json::error_code& ec) {
    --depth_;
    if (pending_.empty()) return Fail(ec, Located("the object has no channels"));
    const int64_t ts = has_ts_ ? ts_ : options_.default_timestamp_ns;
    const std::string where = top_is_array_ ? fmt::format("object {}", objects_) : "the object";
    for (const auto& [channel, value] : pending_) {
      if (Status s = stager_.Add(options_.device, channel, ts, value, where); !s.ok()) {
        return Fail(ec, Located(s.message(), s.code()));
      }
    }
    in_object_ = false;
    return true;
  }

  bool on_key_part(json::string_view s, size_t n, json::error_code& ec) {
    if (n > options_.limits.max_name_bytes) return KeyTooLong(ec, n);
    key_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, size_t n, json::error_code& ec) {
    if (n > options_.limits.max_name_bytes) return KeyTooLong(ec, n);
    key_.append(s.data(), s.size());
    if (key_.empty()) return Fail(ec, Located(fmt::format("an empty key; {}", kShape)));
    if (!keys_.insert(key_).second) {
      return Fail(ec, Located(fmt::format("key '{}' is given twice", key_)));
    }
    current_key_ = std::exchange(key_, {});
    return true;
  }

  bool on_string_part(json::string_view s, size_t n, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (n > kMaxTimeStringBytes || current_key_ != "ts") return OnStringTooLong(ec);
    string_.append(s.data(), s.size());
    return true;
  }

  bool on_string(json::string_view s, size_t n, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (current_key_ != "ts") {
      return Fail(
          ec, Located(fmt::format("channel '{}' is a string; values must be numbers or booleans",
                                  current_key_)));
    }
    if (n > kMaxTimeStringBytes) return OnStringTooLong(ec);
    string_.append(s.data(), s.size());
    Result<int64_t> ts = ParseRfc3339(string_);
    string_.clear();
    if (!ts.has_value()) return Fail(ec, Located("\"ts\": " + ts.error().message()));
    return SetTimestamp(*ts);
  }

  bool on_number_part(json::string_view, json::error_code&) { return true; }

  bool on_int64(int64_t i, json::string_view, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (current_key_ == "ts") {
      if (i < kMinTimestamp || i > kMaxTimestamp) return TimestampOutOfRange(ec);
      return SetTimestamp(i);
    }
    return AddValue(Value::Float64(static_cast<double>(i)));
  }

  bool on_uint64(uint64_t u, json::string_view, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (current_key_ == "ts") return TimestampOutOfRange(ec);
    return AddValue(Value::Float64(static_cast<double>(u)));
  }

  bool on_double(double d, json::string_view, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (current_key_ == "ts") {
      return Fail(ec, Located("\"ts\" must be integer nanoseconds or an RFC 3339 string"));
    }
    if (!std::isfinite(d)) {
      return Fail(ec, Located(fmt::format("channel '{}' is not a finite number", current_key_)));
    }
    return AddValue(Value::Float64(d));
  }

  bool on_bool(bool b, json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    if (current_key_ == "ts") {
      return Fail(ec, Located("\"ts\" must be integer nanoseconds or an RFC 3339 string"));
    }
    return AddValue(Value::Bool(b));
  }

  bool on_null(json::error_code& ec) {
    if (!in_object_) return NotAnObject(ec);
    return Fail(ec, Located(fmt::format("{} is null; {}", What(), kShape)));
  }

  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  // "channel 'x'" or "\"ts\"" inside an object, else the place in the document.
  std::string What() const {
    if (in_object_) {
      return current_key_ == "ts" ? std::string("\"ts\"")
                                  : fmt::format("channel '{}'", current_key_);
    }
    return top_is_array_ ? fmt::format("element {} of the array", objects_ + 1)
                         : std::string("the payload");
  }

  Status Located(std::string message, StatusCode code = StatusCode::kInvalidArgument) const {
    if (!top_is_array_ || !in_object_) return Status(code, std::move(message));
    return Status(code, fmt::format("object {}: {}", objects_, message));
  }

  bool Fail(json::error_code& ec, Status status) {
    status_ = std::move(status);
    ec = json::error::syntax;  // any error stops the parser; status_ says what it was
    return false;
  }

  bool NotAnObject(json::error_code& ec) {
    return Fail(ec,
                Status::InvalidArgument(fmt::format("{} is not an object; {}", What(), kShape)));
  }

  bool KeyTooLong(json::error_code& ec, size_t n) {
    return Fail(ec, Located(fmt::format("a key of {}+ bytes is longer than {} bytes", n,
                                        options_.limits.max_name_bytes)));
  }

  bool OnStringTooLong(json::error_code& ec) {
    if (current_key_ == "ts") {
      return Fail(ec, Located(fmt::format("\"ts\" is longer than {} bytes", kMaxTimeStringBytes)));
    }
    return Fail(ec,
                Located(fmt::format("channel '{}' is a string; values must be numbers or booleans",
                                    current_key_)));
  }

  bool TimestampOutOfRange(json::error_code& ec) {
    return Fail(ec, Located("\"ts\" is out of range (about years 1823 to 2116 in nanoseconds)"));
  }

  bool SetTimestamp(int64_t ts) {
    ts_ = ts;
    has_ts_ = true;
    return true;
  }

  bool AddValue(const Value& value) {
    pending_.emplace_back(current_key_, value);
    return true;
  }

  const PayloadOptions& options_;
  PointStager stager_;
  Status status_;
  int depth_ = 0;
  bool top_is_array_ = false;
  bool in_object_ = false;
  size_t objects_ = 0;  // objects begun so far; the current one is number objects_
  bool has_ts_ = false;
  int64_t ts_ = 0;
  std::string key_;  // the key being read
  std::string current_key_;
  std::string string_;
  std::unordered_set<std::string> keys_;  // of the current object
  std::vector<std::pair<std::string, Value>> pending_;
};

}  // namespace

Status ParseJsonPayload(std::string_view payload, const PayloadOptions& options,
                        WriteBatch& batch) {
  if (options.device.empty()) {
    return Status::InvalidArgument("a JSON payload needs the device it belongs to");
  }
  if (payload.size() > options.limits.max_payload_bytes) {
    return Status::ResourceExhausted(fmt::format("payload of {} bytes exceeds the limit of {}",
                                                 payload.size(), options.limits.max_payload_bytes));
  }
  if (payload.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("the payload is empty; {}", kShape));
  }
  json::parse_options parse_options;
  parse_options.max_depth = 4;  // deeper documents are refused by the handler before this
  json::basic_parser<PayloadHandler> parser(parse_options, options);
  json::error_code ec;
  const size_t used = parser.write_some(false, payload.data(), payload.size(), ec);
  const PayloadHandler& handler = parser.handler();
  if (!handler.status().ok()) return handler.status();
  if (ec || used != payload.size()) {
    return Status::InvalidArgument(
        fmt::format("malformed JSON at byte {}: {}", used, ec ? ec.message() : "trailing data"));
  }
  handler.stager().AppendTo(batch);
  return Status::Ok();
}

}  // namespace sensordb::formats
