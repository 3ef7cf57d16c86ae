// Status: the outcome of an operation that can fail, leveldb-style.
//
// The model library never throws across its API (it is also compiled to WebAssembly, where a
// throw aborts the module). Every fallible call returns a Status; on failure the message is
// written for a person and `field()` names the input field it is about, when there is one.
#pragma once

#include <string>
#include <utility>

namespace fetal {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed or out of range
    kCorruption,       // stored bytes are damaged (bad hash, truncated, wrong magic)
    kUnsupported,      // well-formed, but a version or feature this build does not handle
    kNotFound,
    kIoError,
  };

  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg, std::string field = {}) {
    return Status(Code::kInvalidArgument, std::move(msg), std::move(field));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg), {});
  }
  static Status Unsupported(std::string msg) {
    return Status(Code::kUnsupported, std::move(msg), {});
  }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg), {}); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg), {}); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Name of the offending input field ("histogram_width", "line 12, column 3", ...) or empty.
  const std::string& field() const { return field_; }
  // "corruption: bundle is truncated" style one-line rendering for logs and CLIs.
  std::string ToString() const;

 private:
  Status(Code code, std::string msg, std::string field)
      : code_(code), message_(std::move(msg)), field_(std::move(field)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

}  // namespace fetal
