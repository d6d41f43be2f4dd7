// Status and Expected<T>: how every ecoinfer function reports failure.
//
// No exception crosses the public API. A failed call returns a Status whose
// message says what went wrong, where, and what to do about it, in one line:
//
//   ecoinfer::Expected<ecoinfer::Tensor> t = ecoinfer::read_npy("x.npy");
//   if (!t) { std::cerr << t.status().message() << "\n"; return 1; }
//   use(*t);
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ecoinfer {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is wrong (shape, type, name, file)
  kInvalidModel,     // the model file is malformed or inconsistent
  kUnimplemented,    // valid, but ecoinfer does not support it (yet)
  kNotFound,
  kIoError,
  kPermissionDenied,
  kInternal,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>", for adding where
  // the failure happened as it travels up the stack.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return {code_, context + ": " + message_};
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error; Status::ok() when a value is present.
  Status status() const { return has_value() ? Status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ecoinfer

#define ECOINFER_CONCAT_INNER(a, b) a##b
#define ECOINFER_CONCAT(a, b) ECOINFER_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` fails.
#define ECOINFER_RETURN_IF_ERROR(expr)                 \
  do {                                                 \
    ::ecoinfer::Status ecoinfer_status_ = (expr);      \
    if (!ecoinfer_status_.is_ok()) return ecoinfer_status_; \
  } while (0)

// `ECOINFER_ASSIGN_OR_RETURN(auto x, make_x());` declares x from an Expected,
// or returns its Status from the enclosing function.
#define ECOINFER_ASSIGN_OR_RETURN(lhs, expr) \
  ECOINFER_ASSIGN_OR_RETURN_IMPL(ECOINFER_CONCAT(ecoinfer_expected_, __LINE__), lhs, expr)
#define ECOINFER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.has_value()) return tmp.status();           \
  lhs = std::move(tmp).value()
