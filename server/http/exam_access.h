// Which exams a caller may see: a clinician only the exams of their own token (principal);
// auditors every exam. Someone else's exam looks like no exam at all.
//
// Thread-safety: as the Store it reads.
#pragma once

#include <cstdint>
#include <string>

#include "http/router.h"

namespace fetal {
namespace server {

// Reads exam `id` into *exam when `caller` may see it. Otherwise answers 404 (a missing exam
// and another clinician's alike) after appending `action` with outcome "not_found" or "denied"
// to the audit chain, or 503/500 when the store fails; false when an answer was written.
bool FindVisibleExam(const Services& svc, httplib::Response& res, const Caller& caller, int64_t id,
                     const std::string& action, storage::ExamRecord* exam);

}  // namespace server
}  // namespace fetal
