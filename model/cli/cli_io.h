// What every fetal-model verb shares: the exit status convention, the one-line error, writing
// output files without leaving half of one behind, and reading a bundle.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {
namespace cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the operation ran but did not succeed
constexpr int kExitUsage = 2;   // usage error, or an input that cannot be used

// The verb being run, for error messages (set once by main).
void SetVerb(const std::string& verb);

// Prints "fetal-model <verb>: <message>" to stderr and returns `code`.
int Fail(int code, const std::string& message);
int Fail(int code, const Status& s);

// Writes via a temporary file and rename, so a failed run never leaves half a file behind. An
// existing non-regular file (/dev/null, /dev/stdout, a FIFO) is written in place instead:
// renaming over it would replace the device itself. `private_file`: mode 0600.
Status WriteFileBytes(const std::string& path, const void* data, size_t size, bool private_file);
Status WriteFileText(const std::string& path, const std::string& text, bool private_file = false);

// Reads `path` into *bytes and parses it (content hash checked) into *model. A file that is not
// a valid bundle gives Corruption naming the path.
Status LoadBundle(const std::string& path, std::string* bytes, Model* model);

// "Normal;Suspect" for a prediction-set bit mask (bit c = class c); "" for 0.
std::string SetNames(unsigned set);

// The key of each model input: the feature key, or "<feature>_minus_<reference>" for an input the
// model takes relative to another feature (Model::input_differences).
std::array<std::string, kNumFeatures> InputKeys(const Model& model);

}  // namespace cli
}  // namespace fetal
