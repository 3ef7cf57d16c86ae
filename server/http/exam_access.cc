#include "http/exam_access.h"

#include <httplib.h>

#include "http/responses.h"

namespace fetal {
namespace server {

bool FindVisibleExam(const Services& svc, httplib::Response& res, const Caller& caller, int64_t id,
                     const std::string& action, storage::ExamRecord* exam) {
  using Code = storage::StoreStatus::Code;
  storage::StoreStatus s = svc.store->GetExam(id, exam);
  if (s.code() == Code::kNotFound ||
      (s.ok() && caller.role == Role::kClinician && exam->submitted_by_id != caller.token_id)) {
    if (AuditAccess(svc.store, res, caller, action, "exam/" + std::to_string(id),
                    s.ok() ? "denied" : "not_found", "")) {
      SendError(res, 404, "not_found", "no exam with id " + std::to_string(id));
    }
    return false;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  return true;
}

}  // namespace server
}  // namespace fetal
