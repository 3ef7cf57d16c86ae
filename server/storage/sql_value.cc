// SqlValue conversions: SQLite hands back typed cells, PostgreSQL text; both read the same.
#include <cstdlib>

#include "storage/sql.h"

namespace fetal {
namespace storage {

int64_t SqlValue::AsInt() const {
  switch (type) {
    case Type::kInt: return i;
    case Type::kDouble: return static_cast<int64_t>(d);
    case Type::kText: return strtoll(s.c_str(), nullptr, 10);
    default: return 0;
  }
}

double SqlValue::AsDouble() const {
  switch (type) {
    case Type::kInt: return static_cast<double>(i);
    case Type::kDouble: return d;
    case Type::kText: return strtod(s.c_str(), nullptr);
    default: return 0;
  }
}

std::string SqlValue::AsBlob() const {
  if (type == Type::kText && s.size() >= 2 && s[0] == '\\' && s[1] == 'x') {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return 0;
    };
    std::string out;
    out.reserve((s.size() - 2) / 2);
    for (size_t k = 2; k + 1 < s.size(); k += 2) {
      out.push_back(static_cast<char>(nibble(s[k]) << 4 | nibble(s[k + 1])));
    }
    return out;
  }
  return s;
}

}  // namespace storage
}  // namespace fetal
