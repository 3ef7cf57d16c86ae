#include "api_json.h"

#include "text/time_text.h"

namespace fetal {
namespace server {

using nlohmann::json;
using text::FormatTime;

json AuditEventToJson(const storage::AuditEvent& e) {
  return json{{"seq", e.seq},
              {"time", FormatTime(e.time_ms)},
              {"time_ms", e.time_ms},
              {"actor", {{"name", e.entry.actor.name}, {"role", e.entry.actor.role}}},
              {"request_id", e.entry.actor.request_id},
              {"action", e.entry.action},
              {"object", e.entry.object},
              {"outcome", e.entry.outcome},
              {"details", e.entry.details},
              {"prev_hash", e.prev_hash},
              {"hash", e.hash}};
}

json CheckpointToJson(const storage::SignedCheckpoint& c) {
  return json{{"id", c.id},
              {"seq", c.seq},
              {"hash", c.hash},
              {"time", FormatTime(c.time_ms)},
              {"time_ms", c.time_ms},
              {"key_id", c.key_id},
              {"signature", c.signature}};
}

bool CheckpointFromJson(const json& j, storage::SignedCheckpoint* out, std::string* error) {
  if (!j.is_object()) {
    *error = "a checkpoint must be a JSON object";
    return false;
  }
  for (const char* name : {"seq", "time_ms"}) {
    if (!j.contains(name) || !j[name].is_number_integer() || j[name].get<int64_t>() < 0) {
      *error = std::string("checkpoint field \"") + name + "\" must be an integer >= 0";
      return false;
    }
  }
  for (const char* name : {"hash", "key_id", "signature"}) {
    if (!j.contains(name) || !j[name].is_string()) {
      *error = std::string("checkpoint field \"") + name + "\" must be a string";
      return false;
    }
  }
  storage::SignedCheckpoint c;
  c.id = j.contains("id") && j["id"].is_number_integer() ? j["id"].get<int64_t>() : 0;
  c.seq = j["seq"].get<int64_t>();
  c.time_ms = j["time_ms"].get<int64_t>();
  c.hash = j["hash"].get<std::string>();
  c.key_id = j["key_id"].get<std::string>();
  c.signature = j["signature"].get<std::string>();
  *out = std::move(c);
  return true;
}

json ModelMetadata(const Model& model, size_t bundle_size) {
  const ModelMetrics& m = model.metrics;
  return json{{"name", model.name},
              {"created", model.created},
              {"source", model.source},
              {"format_version", model.format_version},
              {"bundle_version", model.model_version},
              {"training_data_sha256", model.training_data_sha256},
              {"figo_ruleset", model.figo_ruleset},
              {"trees", model.trees.size()},
              {"size", bundle_size},
              {"metrics",
               {{"accuracy", m.accuracy},
                {"macro_f1", m.macro_f1},
                {"balanced_accuracy", m.balanced_accuracy},
                {"log_loss", m.log_loss},
                {"brier", m.brier},
                {"ece", m.ece},
                {"recall", m.recall},
                {"splits", m.splits}}}};
}

json ModelRecordToJson(const storage::ModelRecord& r) {
  json meta = json::parse(r.metadata_json, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) meta = json::object();
  json j = {{"version", r.version},
            {"sha256", r.sha256},
            {"active", r.active},
            {"registered_at", FormatTime(r.created_ms)},
            {"signed", !r.signature.empty()}};
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    if (!j.contains(it.key())) j[it.key()] = it.value();
  }
  return j;
}

}  // namespace server
}  // namespace fetal
