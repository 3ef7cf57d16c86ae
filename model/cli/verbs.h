// The fetal-model verbs. Each takes the arguments after the verb, prints its own --help, and
// returns the exit status (cli_io.h: kExitOk, kExitFailed, kExitUsage).
#pragma once

#include <string>
#include <vector>

namespace fetal {
namespace cli {

// Training (training_verbs.cc).
int Train(const std::vector<std::string>& argv);
int CrossValidateVerb(const std::vector<std::string>& argv);
int FoldsVerb(const std::vector<std::string>& argv);

// Bundles and keys (bundle_verbs.cc).
int ImportXgboost(const std::vector<std::string>& argv);
int Inspect(const std::vector<std::string>& argv);
int Sign(const std::vector<std::string>& argv);
int Verify(const std::vector<std::string>& argv);
int Keygen(const std::vector<std::string>& argv);

// Release manifests (release_verb.cc).
int Release(const std::vector<std::string>& argv);

}  // namespace cli
}  // namespace fetal
