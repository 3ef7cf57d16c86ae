// CheckModel() without its params rule, for ReadBundle: the params text it sets is the text of
// a JSON object it has just parsed (the header's "params"), so parsing it once more to see
// that it is an object could only repeat work. Internal to the model library.
#pragma once

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {
namespace internal {

// Every rule of CheckModel() except "params_json is empty or a JSON object".
// Precondition: model.params_json is empty or the text of a JSON object.
Status CheckModelExceptParams(const Model& model);

}  // namespace internal
}  // namespace fetal
