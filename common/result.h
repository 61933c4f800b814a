#pragma once
// Errors as values at module boundaries: result<T> carries a value or an error,
// status carries only success or an error. No exceptions cross a module seam.

#include <string>
#include <utility>
#include <variant>

namespace sentrail {

/// What went wrong, in words a user can act on.
struct error {
  std::string message;
};

/// A value or the error that stopped it being made.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(error e) : state_(std::move(e)) {}

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const { return std::get<1>(state_); }
  const std::string& message() const { return err().message; }

 private:
  std::variant<T, error> state_;
};

/// Success, or the error that prevented it.
class [[nodiscard]] status {
 public:
  status() = default;
  status(error e) : error_(std::move(e)), failed_(true) {}
  static status success() { return {}; }

  [[nodiscard]] bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return error_.message; }

 private:
  error error_;
  bool failed_ = false;
};

}  // namespace sentrail
