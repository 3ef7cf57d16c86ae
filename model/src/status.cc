#include "fetal/status.h"

namespace fetal {

namespace {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kIoError: return "io error";
  }
  return "unknown";
}

}  // namespace

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out = CodeName(code_);
  out += ": ";
  if (!field_.empty()) {
    out += field_;
    out += ": ";
  }
  out += message_;
  return out;
}

}  // namespace fetal
