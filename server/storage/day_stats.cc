#include "storage/day_stats.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <type_traits>

#include "fetal/schema.h"
#include "text/time_text.h"

namespace fetal {
namespace storage {
namespace {

constexpr int64_t kMsPerDay = 86400000;

// Calls f(column name, member of each of `c`...) for every counter, in the table's column order.
// One list drives the DDL, the upsert, the sums read back and the arithmetic, so they cannot
// disagree.
template <class F, class... Counts>
void VisitColumns(F&& f, Counts&... c) {
  auto each = [&](const std::string& base, auto&&... arrays) {
    const size_t n = std::get<0>(std::forward_as_tuple(arrays...)).size();
    for (size_t k = 0; k < n; ++k) f(base + "_" + std::to_string(k), arrays[k]...);
  };
  f(std::string("exams"), c.exams...);
  each("client", c.client_class...);
  each("server", c.server_class...);
  each("prob_sum", c.probability_sum...);
  f(std::string("conf_sum"), c.confidence_sum...);
  f(std::string("conf_sq_sum"), c.confidence_sq_sum...);
  each("conf_by_class", c.confidence_by_class...);
  f(std::string("ood_checked"), c.ood_checked...);
  f(std::string("ood"), c.ood...);
  f(std::string("ood_distance_sum"), c.ood_distance_sum...);
  f(std::string("out_of_range"), c.out_of_range...);
  f(std::string("with_warnings"), c.with_warnings...);
  f(std::string("figo_disagree"), c.figo_disagree...);
  f(std::string("disagree"), c.disagree...);
  f(std::string("outcomes"), c.outcomes...);
  for (int r = 0; r < kNumClasses; ++r) each("confusion_" + std::to_string(r), c.confusion[r]...);
  each("cal_exams", c.calibration_exams...);
  each("cal_conf", c.calibration_confidence...);
  each("cal_correct", c.calibration_correct...);
  for (int i = 0; i < kNumFeatures; ++i) each("bin_" + std::to_string(i), c.feature_bins[i]...);
}

// The additions without the column names (DayCounts::Add runs per aggregate row of a query).
template <class T, size_t N>
void AddArray(std::array<T, N>& a, const std::array<T, N>& b) {
  for (size_t k = 0; k < N; ++k) a[k] += b[k];
}

// Counts of one aggregate row fit 32 bits; PostgreSQL sums INTEGER into BIGINT on its fast path,
// where a BIGINT column would be summed as NUMERIC (several times slower over a year of rows).
const char* SqlType(const int64_t&) { return "INTEGER"; }
const char* SqlType(const double&) { return "DOUBLE PRECISION"; }
SqlValue Value(int64_t v) { return SqlValue::Int(v); }
SqlValue Value(double v) { return SqlValue::Double(v); }
void Read(const SqlValue& v, int64_t* out) { *out = v.AsInt(); }
void Read(const SqlValue& v, double* out) { *out = v.AsDouble(); }

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
  VisitColumns([](const std::string&, auto& v) { v = -v; }, negative);
  DayCounts out = a;
  out.Add(negative);
  return out;
}

std::string DayStatsTableSql() {
  std::string sql =
      "CREATE TABLE IF NOT EXISTS exam_day_stats (day BIGINT NOT NULL, model_version BIGINT NOT "
      "NULL, submitted_by_id BIGINT NOT NULL, runtime_build TEXT NOT NULL";
  DayCounts c;
  VisitColumns([&](const std::string& name,
                   auto& v) { sql += ", " + name + " " + SqlType(v) + " NOT NULL DEFAULT 0"; },
               c);
  sql += ", PRIMARY KEY (day, model_version, submitted_by_id, runtime_build));";
  return sql;
}

const std::string& DayStatsUpsertSql() {
  static const std::string sql = [] {
    std::string names, values, updates;
    int n = 4;
    DayCounts c;
    VisitColumns(
        [&](const std::string& name, auto&) {
          names += ", " + name;
          values += ", $" + std::to_string(++n);
          updates += (updates.empty() ? "" : ", ") + name + " = exam_day_stats." + name +
                     " + excluded." + name;
        },
        c);
    return "INSERT INTO exam_day_stats (day, model_version, submitted_by_id, runtime_build" +
           names + ") VALUES ($1, $2, $3, $4" + values +
           ") ON CONFLICT (day, model_version, submitted_by_id, runtime_build) DO UPDATE SET " +
           updates;
  }();
  return sql;
}

std::vector<SqlValue> DayStatsParams(int64_t day, int64_t model_version, int64_t submitted_by_id,
                                     const std::string& runtime_build, const DayCounts& add) {
  std::vector<SqlValue> params = {SqlValue::Int(day), SqlValue::Int(model_version),
                                  SqlValue::Int(submitted_by_id), SqlValue::Text(runtime_build)};
  DayCounts copy = add;
  VisitColumns([&](const std::string&, auto& v) { params.push_back(Value(v)); }, copy);
  return params;
}

const std::string& DayStatsSumColumns() {
  static const std::string sql = [] {
    std::string out;
    DayCounts c;
    VisitColumns([&](const std::string& name,
                     auto&) { out += (out.empty() ? "SUM(" : ", SUM(") + name + ")"; },
                 c);
    return out;
  }();
  return sql;
}

void RowToDayCounts(const SqlRow& row, size_t first, DayCounts* out) {
  size_t k = first;
  VisitColumns([&](const std::string&, auto& v) { Read(row.at(k++), &v); }, *out);
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
