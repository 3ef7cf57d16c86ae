#include "cli_io.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fetal/bundle.h"
#include "fetal/trainer/dataset.h"

namespace fetal {
namespace cli {
namespace {

std::string g_verb;

}  // namespace

void SetVerb(const std::string& verb) { g_verb = verb; }

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "fetal-model %s: %s\n", g_verb.c_str(), message.c_str());
  return code;
}
int Fail(int code, const Status& s) { return Fail(code, s.message()); }

Status WriteFileBytes(const std::string& path, const void* data, size_t size, bool private_file) {
  struct stat existing;
  if (stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    FILE* f = std::fopen(path.c_str(), "wb");
    bool ok = f && std::fwrite(data, 1, size, f) == size;
    ok = f && (std::fclose(f) == 0) && ok;
    return ok ? Status::Ok()
              : Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  if (private_file) chmod(tmp.c_str(), 0600);
  bool ok = std::fwrite(data, 1, size, f) == size;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}
Status WriteFileText(const std::string& path, const std::string& text, bool private_file) {
  return WriteFileBytes(path, text.data(), text.size(), private_file);
}

Status LoadBundle(const std::string& path, std::string* bytes, Model* model) {
  Status s = trainer::ReadFileBytes(path, bytes);
  if (!s.ok()) return s;
  s = ReadBundle(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), model);
  if (!s.ok()) return Status::Corruption(path + " is not a valid model bundle: " + s.message());
  return Status::Ok();
}

std::string SetNames(unsigned set) {
  std::string out;
  for (int c = 0; c < kNumClasses; ++c) {
    if ((set >> c) & 1u) out += (out.empty() ? "" : ";") + std::string(kClassNames[c]);
  }
  return out;
}

std::array<std::string, kNumFeatures> InputKeys(const Model& model) {
  std::array<std::string, kNumFeatures> keys;
  for (int i = 0; i < kNumFeatures; ++i) keys[i] = std::string(FeatureSchema()[i].key);
  for (const InputDifference& d : model.input_differences) {
    keys[d.input] += "_minus_" + std::string(FeatureSchema()[d.reference].key);
  }
  return keys;
}

}  // namespace cli
}  // namespace fetal
