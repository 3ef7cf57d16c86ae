#include "storage/shadow_tables.h"

namespace fetal {
namespace storage {

std::string ShadowTablesSql() {
  // Column names differ from every exams column, so the report's join reads kExamColumns
  // unqualified. The primary key makes a version evaluate an exam at most once.
  return "CREATE TABLE IF NOT EXISTS shadow_models ("
         "  version BIGINT PRIMARY KEY, started_ms BIGINT NOT NULL, started_by TEXT NOT NULL);"
         "CREATE TABLE IF NOT EXISTS shadow_results ("
         "  shadow_version BIGINT NOT NULL, exam_id BIGINT NOT NULL,"
         "  shadow_class INTEGER NOT NULL, shadow_probabilities TEXT NOT NULL,"
         "  evaluated_ms BIGINT NOT NULL, PRIMARY KEY (shadow_version, exam_id));";
}

}  // namespace storage
}  // namespace fetal
