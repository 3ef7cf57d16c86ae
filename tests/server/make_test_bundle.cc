// fetal-test-bundle DIR [VERSION]: writes a tiny signed model bundle for manual runs and
// benchmarks when the trained default model is not at hand:
//   DIR/model.fhm, DIR/model.fhm.sig, DIR/signing-key.pem, DIR/signing-public.pem
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "test_support.h"

int main(int argc, char** argv) {
  using namespace fetal::testing_support;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: fetal-test-bundle DIR [VERSION]\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const long version = argc == 3 ? std::atol(argv[2]) : 1;
    SigningKeys keys = NewKeys();
    std::string bundle = BundleBytes(TinyModel(version));
    WriteFile(dir + "/model.fhm", bundle);
    WriteFile(dir + "/model.fhm.sig", Sign(keys, bundle) + "\n");
    WriteFile(dir + "/signing-key.pem", keys.private_pem);
    WriteFile(dir + "/signing-public.pem", keys.public_pem);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fetal-test-bundle: %s\n", e.what());
    return 1;
  }
  return 0;
}
