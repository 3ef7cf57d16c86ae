#include "storage/day_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <type_traits>

#include "fetal/schema.h"
#include "text/time_text.h"

namespace fetal {
namespace storage {
namespace {

constexpr int64_t kMsPerDay = 86400000;

// Calls f(member of each of `c`...) for every counter, in the packed order (docs/storage.md
// "Monitoring aggregates" names them). One list drives the packing, the unpacking and the
// negation, so they cannot disagree.
template <class F, class... Counts>
void VisitCounters(F&& f, Counts&... c) {
  auto each = [&](auto&&... arrays) {
    const size_t n = std::get<0>(std::forward_as_tuple(arrays...)).size();
    for (size_t k = 0; k < n; ++k) f(arrays[k]...);
  };
  f(c.exams...);
  each(c.client_class...);
  each(c.server_class...);
  each(c.probability_sum...);
  f(c.confidence_sum...);
  f(c.confidence_sq_sum...);
  each(c.confidence_by_class...);
  f(c.ood_checked...);
  f(c.ood...);
  f(c.ood_distance_sum...);
  f(c.out_of_range...);
  f(c.with_warnings...);
  f(c.figo_disagree...);
  f(c.disagree...);
  f(c.outcomes...);
  for (int r = 0; r < kNumClasses; ++r) each(c.confusion[r]...);
  each(c.calibration_exams...);
  each(c.calibration_confidence...);
  each(c.calibration_correct...);
  for (int i = 0; i < kNumFeatures; ++i) each(c.feature_bins[i]...);
}

// The additions spelled out (DayCounts::Add runs per aggregate row of a query).
template <class T, size_t N>
void AddArray(std::array<T, N>& a, const std::array<T, N>& b) {
  for (size_t k = 0; k < N; ++k) a[k] += b[k];
}

// The packed form: counts as zigzag LEB128 varints (most are small: one or two bytes), sums as
// the 8 little-endian bytes of their IEEE bits. A row packs to some 450 bytes, which PostgreSQL
// keeps inline and uncompressed (a value over about 2 kB would be TOASTed and decompressed on
// every read).
void Pack(int64_t v, std::string* out) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<char>(z | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}
void Pack(double v, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  for (int b = 0; b < 8; ++b) out->push_back(static_cast<char>(bits >> (8 * b)));
}
// Each reads one value at *p, not past `end`; false when the bytes run out or a varint is longer
// than 64 bits.
bool Unpack(const char** p, const char* end, int64_t* v) {
  uint64_t z = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p == end) return false;
    const auto byte = static_cast<unsigned char>(*(*p)++);
    z |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) {
      *v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
      return true;
    }
  }
  return false;
}
bool Unpack(const char** p, const char* end, double* v) {
  if (end - *p < 8) return false;
  uint64_t bits = 0;
  for (int b = 0; b < 8; ++b) {
    bits |= static_cast<uint64_t>(static_cast<unsigned char>((*p)[b])) << (8 * b);
  }
  *p += 8;
  std::memcpy(v, &bits, 8);
  return true;
}

StoreStatus WrongLength() {
  return StoreStatus::Corruption("exam_day_stats: a row's packed counts do not parse");
}

int FloorDiv(int64_t a, int64_t b) { return static_cast<int>(a / b - (a % b < 0 ? 1 : 0)); }

int ServerConfidenceBin(double confidence) {
  return std::max(0, std::min(9, static_cast<int>(std::floor(confidence * 10))));
}

}  // namespace

void DayCounts::Add(const DayCounts& o) {
  exams += o.exams;
  AddArray(client_class, o.client_class);
  AddArray(server_class, o.server_class);
  AddArray(probability_sum, o.probability_sum);
  confidence_sum += o.confidence_sum;
  confidence_sq_sum += o.confidence_sq_sum;
  AddArray(confidence_by_class, o.confidence_by_class);
  ood_checked += o.ood_checked;
  ood += o.ood;
  ood_distance_sum += o.ood_distance_sum;
  out_of_range += o.out_of_range;
  with_warnings += o.with_warnings;
  figo_disagree += o.figo_disagree;
  disagree += o.disagree;
  outcomes += o.outcomes;
  for (int r = 0; r < kNumClasses; ++r) AddArray(confusion[r], o.confusion[r]);
  AddArray(calibration_exams, o.calibration_exams);
  AddArray(calibration_confidence, o.calibration_confidence);
  AddArray(calibration_correct, o.calibration_correct);
  for (int i = 0; i < kNumFeatures; ++i) AddArray(feature_bins[i], o.feature_bins[i]);
}

DayCounts Subtract(const DayCounts& a, const DayCounts& b) {
  DayCounts negative = b;
  VisitCounters([](auto& v) { v = -v; }, negative);
  DayCounts out = a;
  out.Add(negative);
  return out;
}

std::string DayStatsTableSql(Dialect dialect) {
  return std::string(
             "CREATE TABLE IF NOT EXISTS exam_day_stats (day BIGINT NOT NULL, model_version BIGINT "
             "NOT NULL, submitted_by_id BIGINT NOT NULL, runtime_build TEXT NOT NULL, counts ") +
         (dialect == Dialect::kPostgres ? "BYTEA" : "BLOB") +
         " NOT NULL, PRIMARY KEY (day, model_version, submitted_by_id, runtime_build));";
}

StoreStatus FlushDayStats(SqlConn* conn, PendingDayStats* pending) {
  static const std::string read =
      "SELECT counts FROM exam_day_stats WHERE day = $1 AND model_version = $2 AND "
      "submitted_by_id = $3 AND runtime_build = $4";
  static const std::string write =
      "INSERT INTO exam_day_stats (day, model_version, submitted_by_id, runtime_build, counts) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, model_version, submitted_by_id, "
      "runtime_build) DO UPDATE SET counts = excluded.counts";
  for (const auto& [key, add] : *pending) {
    std::vector<SqlValue> params = {SqlValue::Int(key.day), SqlValue::Int(key.model_version),
                                    SqlValue::Int(key.submitted_by_id),
                                    SqlValue::Text(key.runtime_build)};
    SqlRows rows;
    StoreStatus s = conn->Exec(read, params, &rows);
    if (!s.ok()) return s;
    DayCounts sum = add;
    if (!rows.empty()) {
      DayCounts stored;
      if (!UnpackDayCounts(rows[0][0].AsBlob(), &stored)) return WrongLength();
      sum.Add(stored);
    }
    params.push_back(SqlValue::Blob(PackDayCounts(sum)));
    s = conn->Exec(write, params, nullptr);
    if (!s.ok()) return s;
  }
  pending->clear();
  return StoreStatus::Ok();
}

std::string PackDayCounts(const DayCounts& c) {
  std::string out;
  out.reserve(512);
  DayCounts copy = c;
  VisitCounters([&](auto& v) { Pack(v, &out); }, copy);
  return out;
}

bool UnpackDayCounts(const std::string& bytes, DayCounts* out) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  bool ok = true;
  VisitCounters([&](auto& v) { ok = ok && Unpack(&p, end, &v); }, *out);
  return ok && p == end;
}

int64_t ExamDay(const std::string& client_timestamp, int64_t fallback_ms) {
  int64_t ms = 0;
  if (!text::ParseTime(client_timestamp, &ms)) ms = fallback_ms;
  return FloorDiv(ms, kMsPerDay);
}

DayCounts ExamContribution(const ExamInput& in) {
  DayCounts c;
  c.exams = 1;
  c.client_class[in.client_class] = 1;
  c.server_class[in.server_class] = 1;
  double top = 0;
  for (int k = 0; k < kNumClasses; ++k) {
    c.probability_sum[k] = in.server_probabilities[k];
    top = std::max(top, in.server_probabilities[k]);
  }
  c.confidence_sum = top;
  c.confidence_sq_sum = top * top;
  c.confidence_by_class[in.server_class] = in.server_probabilities[in.server_class];
  const ExamSignals& s = in.signals;
  if (s.ood_checked) {
    c.ood_checked = 1;
    c.ood_distance_sum = s.ood_distance;
  }
  c.ood = s.out_of_distribution ? 1 : 0;
  c.out_of_range = s.out_of_range ? 1 : 0;
  c.with_warnings = s.has_warnings ? 1 : 0;
  c.figo_disagree = s.figo_disagrees ? 1 : 0;
  c.disagree = in.agreement ? 0 : 1;
  for (int i = 0; i < kNumFeatures; ++i) {
    const int bin = s.feature_bins[i];
    if (bin >= 0 && bin < kReferenceBins) c.feature_bins[i][bin] = 1;
  }
  return c;
}

DayCounts OutcomeContribution(const ExamInput& in, int reading) {
  DayCounts c;
  c.outcomes = 1;
  c.confusion[reading][in.server_class] = 1;
  const double top = in.server_probabilities[in.server_class];
  const int bin = ServerConfidenceBin(top);
  c.calibration_exams[bin] = 1;
  c.calibration_confidence[bin] = top;
  c.calibration_correct[bin] = reading == in.server_class ? 1 : 0;
  return c;
}

}  // namespace storage
}  // namespace fetal
