// Status and Result<T>: how every sensordb call reports success or a readable error.
// No exception crosses the engine API. Thread-safe as values (immutable after construction).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace sensordb {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument = 1,   // the caller's input is wrong; nothing was changed
  kNotFound = 2,          // a named project, device or channel does not exist
  kAlreadyExists = 3,
  kCorruption = 4,        // stored data failed a check (checksum, authentication, format)
  kIOError = 5,           // the filesystem or RocksDB failed
  kPermissionDenied = 6,
  kFailedPrecondition = 7,  // the call is valid but not in the current state (e.g. DB closed)
  kResourceExhausted = 8,   // a size limit was exceeded
  kNotSupported = 9,
  kInternal = 10,
  kNoSpace = 11,  // the storage is full: nothing of the call was stored; retry once space is freed
  // A rate bound was reached (requests, points or new series per unit of time, a login lockout):
  // nothing of the call was done and the same call succeeds later; the message says when.
  kRateLimited = 12,
};
// The highest code; the native protocol's ErrorCode mirrors them all.
inline constexpr StatusCode kLastStatusCode = StatusCode::kRateLimited;

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  // So that `return Err(s);` (and the macros below) work in a function returning Status as well
  // as in one returning Result<T>: one way to return an error everywhere.
  Status(std::unexpected<Status> e) : Status(std::move(e.error())) {}  // NOLINT: implicit

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status NoSpace(std::string m) { return {StatusCode::kNoSpace, std::move(m)}; }
  static Status RateLimited(std::string m) { return {StatusCode::kRateLimited, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: batch is empty", or "OK".
  std::string ToString() const;

  // Marks a deliberately ignored status (e.g. best-effort cleanup on an error path).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status saying why there is none. A std::expected that may not be ignored:
// drop one on purpose with IgnoreError().
template <typename T>
class [[nodiscard]] Result : public std::expected<T, Status> {
 public:
  using Base = std::expected<T, Status>;
  using Base::Base;
  using Base::operator=;
  Result(const Base& b) : Base(b) {}        // NOLINT: implicit, from a plain std::expected
  Result(Base&& b) : Base(std::move(b)) {}  // NOLINT: implicit

  void IgnoreError() const {}
};

// The error return of a function of either kind: `return Err(Status::NotFound("..."));`.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

namespace status_internal {
inline Status StatusOf(Status s) { return s; }
template <typename T>
Status StatusOf(const std::expected<T, Status>& r) {
  return r.has_value() ? Status() : r.error();
}
}  // namespace status_internal

}  // namespace sensordb

#define SENSORDB_CONCAT_INNER_(a, b) a##b
#define SENSORDB_CONCAT_(a, b) SENSORDB_CONCAT_INNER_(a, b)

// If `expr` (a Status, or a Result<T> whose value is not wanted here) holds an error, returns it
// from the enclosing function, which may return Status or any Result<U>.
#define SENSORDB_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                                 \
    ::sensordb::Status sensordb_status_ = ::sensordb::status_internal::StatusOf(expr); \
    if (!sensordb_status_.ok()) return ::sensordb::Err(std::move(sensordb_status_));   \
  } while (0)

#define SENSORDB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                 \
  auto tmp = (expr);                                                    \
  if (!tmp.has_value()) return ::sensordb::Err(std::move(tmp).error()); \
  lhs = std::move(*tmp)

// `lhs = value of expr` (a Result<T>), or return its error from the enclosing function, which
// may return Status or any Result<U>.
#define SENSORDB_ASSIGN_OR_RETURN(lhs, expr) \
  SENSORDB_ASSIGN_OR_RETURN_IMPL_(SENSORDB_CONCAT_(sensordb_result_, __LINE__), lhs, expr)
