#include "audit_cli/pg_dump_load.h"

#include <fstream>
#include <vector>

namespace fetal {
namespace audit_cli {
namespace {

using storage::SqlValue;
using storage::StoreStatus;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "public.audit" / "\"public\".\"audit\"" / "audit" -> "audit".
std::string TableName(std::string name) {
  size_t dot = name.rfind('.');
  if (dot != std::string::npos) name = name.substr(dot + 1);
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = name.substr(1, name.size() - 2);
  return name;
}

// Parses `COPY <table> (<c1>, <c2>, ...) FROM stdin;`. False for any other line.
bool ParseCopyHeader(const std::string& line, std::string* table,
                     std::vector<std::string>* columns) {
  const std::string tail = " FROM stdin;";
  if (line.compare(0, 5, "COPY ") != 0 || line.size() < tail.size() ||
      line.compare(line.size() - tail.size(), tail.size(), tail) != 0) {
    return false;
  }
  size_t open = line.find(" (", 5), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  *table = TableName(line.substr(5, open - 5));
  columns->clear();
  std::string list = line.substr(open + 2, close - open - 2);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string col =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!col.empty() && col.front() == ' ') col.erase(col.begin());
    while (!col.empty() && col.back() == ' ') col.pop_back();
    if (col.size() >= 2 && col.front() == '"' && col.back() == '"')
      col = col.substr(1, col.size() - 2);
    columns->push_back(col);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return !columns->empty();
}

}  // namespace

bool DecodeCopyField(const std::string& field, std::string* out) {
  if (field == "\\N") return false;
  out->clear();
  out->reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out->push_back(c);
      continue;
    }
    char e = field[++i];
    switch (e) {
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < field.size() && HexDigit(field[i + 1]) >= 0) {
          v = v * 16 + HexDigit(field[++i]);
          ++n;
        }
        if (n == 0) out->push_back('x');
        else out->push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
            v = v * 8 + (field[++i] - '0');
            ++n;
          }
          out->push_back(static_cast<char>(v));
        } else {
          out->push_back(e);  // \\ and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

StoreStatus LoadPgDump(const std::string& path, storage::SqlConn* sqlite, PgDumpCounts* counts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return StoreStatus::NotFound("cannot open " + path);
  StoreStatus s = sqlite->Exec("BEGIN");
  if (!s.ok()) return s;
  std::string line, table, insert;
  std::vector<std::string> columns;
  int64_t* counter = nullptr;
  bool in_copy = false, saw_copy = false;
  int64_t line_no = 0;
  auto where = [&] { return path + ", line " + std::to_string(line_no) + ": "; };
  while (std::getline(in, line)) {
    ++line_no;
    if (!in_copy) {
      if (!ParseCopyHeader(line, &table, &columns)) continue;
      saw_copy = true;
      counter = table == "audit"               ? &counts->audit
                : table == "exams"             ? &counts->exams
                : table == "audit_checkpoints" ? &counts->checkpoints
                : table == "exam_outcomes"     ? &counts->outcomes
                                               : nullptr;
      in_copy = true;
      insert = "INSERT INTO " + table + " (";
      std::string values;
      for (size_t i = 0; i < columns.size(); ++i) {
        insert += (i ? ", " : "") + columns[i];
        values += (i ? ", $" : "$") + std::to_string(i + 1);
      }
      insert += ") VALUES (" + values + ")";
      continue;
    }
    if (line == "\\.") {
      in_copy = false;
      continue;
    }
    if (counter == nullptr) continue;  // a table the chain does not cover
    std::vector<SqlValue> params;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      std::string raw =
          line.substr(start, tab == std::string::npos ? std::string::npos : tab - start);
      std::string value;
      params.push_back(DecodeCopyField(raw, &value) ? SqlValue::Text(value) : SqlValue());
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (params.size() != columns.size()) {
      sqlite->Exec("ROLLBACK");
      return StoreStatus::InvalidArgument(where() + "a row of " + table + " has " +
                                          std::to_string(params.size()) + " fields, expected " +
                                          std::to_string(columns.size()));
    }
    s = sqlite->Exec(insert, params, nullptr);
    if (!s.ok()) {
      sqlite->Exec("ROLLBACK");
      return StoreStatus::InvalidArgument(where() + "cannot load a row of " + table + ": " +
                                          s.message());
    }
    ++*counter;
  }
  if (in.bad()) {
    sqlite->Exec("ROLLBACK");
    return StoreStatus::Unavailable("cannot read " + path);
  }
  if (in_copy) {
    sqlite->Exec("ROLLBACK");
    return StoreStatus::InvalidArgument(where() + "the file ends inside the COPY block of " +
                                        table + " (truncated dump?)");
  }
  if (!saw_copy) {
    sqlite->Exec("ROLLBACK");
    return StoreStatus::InvalidArgument(
        path + " has no COPY blocks: expected a plain-SQL pg_dump (without --inserts)");
  }
  return sqlite->Exec("COMMIT");
}

}  // namespace audit_cli
}  // namespace fetal
