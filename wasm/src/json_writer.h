// JsonWriter: a minimal append-only JSON text builder for the WebAssembly bindings.
//
// Hand-written rather than nlohmann so the bindings add almost nothing to the .wasm and never
// throw. The caller is responsible for well-formed nesting; commas are inserted automatically.
// Non-finite numbers have no JSON form: Number() writes them as null, NumberOrString() writes
// "NaN" / "Infinity" / "-Infinity" strings that the JS wrapper turns back into numbers.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/detail/conversions/to_chars.hpp>
#include <nlohmann/detail/macro_unscope.hpp>

namespace fetal::wasm {

class JsonWriter {
 public:
  void Clear() {
    out_.clear();
    need_comma_ = false;
  }
  const std::string& str() const { return out_; }
  const char* c_str() const { return out_.c_str(); }

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  // Writes "key": and leaves the writer expecting the value.
  JsonWriter& Key(std::string_view key) {
    Separate();
    AppendString(key);
    out_ += ':';
    need_comma_ = false;
    return *this;
  }

  JsonWriter& String(std::string_view s) {
    Separate();
    AppendString(s);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& Int(long long v) {
    Separate();
    out_ += std::to_string(v);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& Bool(bool v) {
    Separate();
    out_ += v ? "true" : "false";
    need_comma_ = true;
    return *this;
  }
  JsonWriter& Null() {
    Separate();
    out_ += "null";
    need_comma_ = true;
    return *this;
  }
  // The shortest digits that round-trip (nlohmann's Grisu2, already in the module for the
  // bundle header): JSON.parse gives back the same double.
  JsonWriter& Number(double v) {
    if (!std::isfinite(v)) return Null();
    Separate();
    AppendDouble(v);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& NumberOrString(double v) {
    if (std::isnan(v)) return String("NaN");
    if (std::isinf(v)) return String(v > 0 ? "Infinity" : "-Infinity");
    return Number(v);
  }

 private:
  JsonWriter& Open(char c) {
    Separate();
    out_ += c;
    need_comma_ = false;
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    need_comma_ = true;
    return *this;
  }
  void Separate() {
    if (need_comma_) out_ += ',';
  }
  void AppendDouble(double v) {
    // Not snprintf("%.17g"): musl formats through 128-bit long double in software, several
    // microseconds a number in the baseline-compiled code a cold page load runs.
    char buf[64];
    char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<size_t>(end - buf));
  }
  void AppendString(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);  // UTF-8 passes through unchanged
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool need_comma_ = false;
};

}  // namespace fetal::wasm
