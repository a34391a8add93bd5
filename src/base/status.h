// Errors as values at library boundaries: Status (ok or a message) and Expected<T>.
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace silica {

// A failure with a message a user can act on: which file / tensor / key, expected, found.
struct Error {
  std::string message;
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...)};
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : error_(std::move(e.message)) {}  // NOLINT: implicit on purpose
  static Status ok_status() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return error_ ? *error_ : kEmpty;
  }

 private:
  std::optional<std::string> error_;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Expected(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const std::string& message() const { return std::get<1>(v_).message; }
  Error error() const { return std::get<1>(v_); }
  Status status() const { return ok() ? Status() : Status(std::get<1>(v_)); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace silica

// Propagate an error from a Status or Expected expression out of the enclosing function.
#define SILICA_CONCAT_INNER(a, b) a##b
#define SILICA_CONCAT(a, b) SILICA_CONCAT_INNER(a, b)
#define SILICA_RETURN_IF_ERROR(expr)                                    \
  do {                                                                  \
    auto _silica_st = (expr);                                           \
    if (!_silica_st.ok()) return ::silica::Error{_silica_st.message()}; \
  } while (0)
#define SILICA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return ::silica::Error{tmp.message()}; \
  lhs = std::move(tmp).value()
#define SILICA_ASSIGN_OR_RETURN(lhs, expr) \
  SILICA_ASSIGN_OR_RETURN_IMPL(SILICA_CONCAT(_silica_tmp_, __LINE__), lhs, expr)
