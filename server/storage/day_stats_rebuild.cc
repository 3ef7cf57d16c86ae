#include "storage/day_stats_rebuild.h"

#include <map>
#include <memory>
#include <string>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/monitoring_reference.h"
#include "storage/day_stats.h"
#include "storage/exam_signals.h"
#include "storage/rows.h"
#include "storage/schema.h"

namespace fetal {
namespace storage {
namespace {

// A registry version as the rebuild needs it; classifier null when its bundle cannot be read.
struct VersionModel {
  std::unique_ptr<Classifier> classifier;
  std::unique_ptr<MonitoringReference> reference;  // null without a monitoring section
};

StoreStatus LoadModels(SqlConn* c, std::map<int64_t, VersionModel>* out) {
  SqlRows rows;
  StoreStatus s = c->Exec("SELECT version, bundle FROM models", {}, &rows);
  if (!s.ok()) return s;
  for (const SqlRow& row : rows) {
    VersionModel& v = (*out)[row[0].AsInt()];
    const std::string bundle = row[1].AsBlob();
    const auto* data = reinterpret_cast<const uint8_t*>(bundle.data());
    Model model;
    if (!ReadBundle(data, bundle.size(), &model).ok()) continue;
    if (!Classifier::Create(std::move(model), &v.classifier).ok()) v.classifier.reset();
    auto reference = std::make_unique<MonitoringReference>();
    bool found = false;
    if (MonitoringReferenceFromBundle(data, bundle.size(), reference.get(), &found).ok() && found) {
      v.reference = std::move(reference);
    }
  }
  return StoreStatus::Ok();
}

// The signals the exam route would have computed; false when they cannot be re-derived.
bool Rederive(const std::map<int64_t, VersionModel>& models, const ExamInput& exam,
              ExamSignals* out) {
  auto it = models.find(exam.model_version);
  if (it == models.end() || !it->second.classifier) return false;
  float features[kNumFeatures];
  for (int i = 0; i < kNumFeatures; ++i) features[i] = static_cast<float>(exam.features[i]);
  ClassifyOptions options;
  options.explain = false;
  Classification server;
  it->second.classifier->Classify(features, options, &server);
  if (!server.classified) return false;
  *out = SignalsOf(server, it->second.reference.get(), exam.features.data());
  return true;
}

}  // namespace

StoreStatus RebuildDayStats(SqlConn* c, int64_t batch_exams, DayStatsRebuild* out) {
  DayStatsRebuild result;
  std::map<int64_t, VersionModel> models;
  StoreStatus s = c->Exec("DELETE FROM exam_day_stats");
  if (s.ok()) s = LoadModels(c, &models);
  if (!s.ok()) return s;
  const std::string select_exams =
      std::string("SELECT ") + kExamColumns + " FROM exams WHERE id > $1 ORDER BY id LIMIT $2";
  int64_t after = 0;
  for (;;) {
    SqlRows rows;
    s = c->Exec(select_exams, {SqlValue::Int(after), SqlValue::Int(batch_exams)}, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) break;
    std::map<int64_t, ExamRecord> exams;  // by id, this page
    for (const SqlRow& row : rows) {
      ExamRecord rec;
      s = RowToExam(row, &rec);
      if (!s.ok()) return s;
      exams.emplace(rec.id, std::move(rec));
    }
    // The latest version of each outcome of the page's exams (versions ascend).
    SqlRows outcomes;
    s = c->Exec(
        "SELECT exam_id, final_reading FROM exam_outcomes WHERE exam_id > $1 AND exam_id <= $2 "
        "ORDER BY exam_id, version",
        {SqlValue::Int(after), SqlValue::Int(exams.rbegin()->first)}, &outcomes);
    if (!s.ok()) return s;
    std::map<int64_t, int> reading;
    for (const SqlRow& o : outcomes) reading[o[0].AsInt()] = static_cast<int>(o[1].AsInt());

    PendingDayStats aggregates;
    for (auto& [id, rec] : exams) {
      if (!Rederive(models, rec.input, &rec.input.signals)) ++result.without_signals;
      DayCounts& row = aggregates[DayStatsKey{ExamDay(rec.input.client_timestamp, rec.received_ms),
                                              rec.input.model_version, rec.submitted_by_id,
                                              rec.input.runtime_build}];
      row.Add(ExamContribution(rec.input));
      auto r = reading.find(id);
      if (r != reading.end()) {
        row.Add(OutcomeContribution(rec.input, r->second));
        ++result.outcomes;
      }
      ++result.exams;
    }
    s = FlushDayStats(c, &aggregates);
    if (!s.ok()) return s;
    after = exams.rbegin()->first;
  }
  s = c->Exec(
      "INSERT INTO storage_meta (key, value) VALUES ('day_stats_exams_without_signals', $1) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      {SqlValue::Text(std::to_string(result.without_signals))}, nullptr);
  if (!s.ok()) return s;
  if (out) *out = result;
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
