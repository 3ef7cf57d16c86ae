#include "fetal/release_manifest.h"

#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace fetal {

bool IsLowerHex(const std::string& s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsReleaseSite(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

namespace {

using nlohmann::json;

// "YYYY-MM-DDTHH:MM:SSZ": one spelling per instant, so byte order is time order.
bool IsUtcTime(const std::string& s) {
  static const char kShape[] = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != sizeof(kShape) - 1) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != kShape[i])
      return false;
  }
  return true;
}

Status CheckModel(const ReleaseModel& m, const std::string& field) {
  if (m.version < 1) return Status::InvalidArgument(field + ".version must be >= 1", field);
  if (!IsLowerHex(m.sha256, 64)) {
    return Status::InvalidArgument(field + ".sha256 must be 64 lowercase hex characters", field);
  }
  return Status::Ok();
}

json ModelJson(const ReleaseModel& m) { return json{{"version", m.version}, {"sha256", m.sha256}}; }

// The keys each kind carries; any other key is refused.
std::set<std::string> KeysOf(ReleaseKind kind) {
  std::set<std::string> keys = {"format", "site",   "sequence", "kind",
                                "stable", "issued", "not_after"};
  switch (kind) {
    case ReleaseKind::kRollout: keys.insert({"candidate", "steps_percent", "cohort_salt"}); break;
    case ReleaseKind::kRevert: keys.insert({"reverts", "candidate_sha256"}); break;
    case ReleaseKind::kPromote: keys.insert("promotes"); break;
  }
  return keys;
}

// Readers of one field of the parsed object: false with *status naming the field.
bool ReadInt(const json& j, const char* key, int64_t* out, Status* status) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) {
    *status = Status::InvalidArgument(std::string(key) + " must be an integer", key);
    return false;
  }
  *out = it->get<int64_t>();
  return true;
}

bool ReadString(const json& j, const char* key, std::string* out, Status* status) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    *status = Status::InvalidArgument(std::string(key) + " must be a string", key);
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool ReadModel(const json& j, const char* key, ReleaseModel* out, Status* status) {
  auto it = j.find(key);
  const bool ok = it != j.end() && it->is_object() && it->size() == 2 && it->contains("version") &&
                  it->at("version").is_number_integer() && it->contains("sha256") &&
                  it->at("sha256").is_string();
  if (!ok) {
    *status =
        Status::InvalidArgument(std::string(key) +
                                    " must be {\"sha256\": \"<hex>\", \"version\": <integer>}",
                                key);
    return false;
  }
  out->version = it->at("version").get<int64_t>();
  out->sha256 = it->at("sha256").get<std::string>();
  return true;
}

}  // namespace

const char* ReleaseKindName(ReleaseKind kind) {
  switch (kind) {
    case ReleaseKind::kRollout: return "rollout";
    case ReleaseKind::kRevert: return "revert";
    case ReleaseKind::kPromote: return "promote";
  }
  return "rollout";
}

Status CheckManifest(const ReleaseManifest& m) {
  if (!IsReleaseSite(m.site)) {
    return Status::InvalidArgument("site must be 1 to 64 of a-z, 0-9 and -", "site");
  }
  if (m.sequence < 1) return Status::InvalidArgument("sequence must be >= 1", "sequence");
  Status s = CheckModel(m.stable, "stable");
  if (!s.ok()) return s;
  if (!IsUtcTime(m.issued)) {
    return Status::InvalidArgument("issued must be YYYY-MM-DDTHH:MM:SSZ", "issued");
  }
  if (!IsUtcTime(m.not_after) || m.not_after <= m.issued) {
    return Status::InvalidArgument("not_after must be YYYY-MM-DDTHH:MM:SSZ, after issued",
                                   "not_after");
  }
  const bool rollout = m.kind == ReleaseKind::kRollout;
  if (rollout != m.candidate.has_value()) {
    return Status::InvalidArgument("a rollout, and only a rollout, names a candidate", "candidate");
  }
  if (rollout) {
    if (!(s = CheckModel(*m.candidate, "candidate")).ok()) return s;
    if (m.candidate->version <= m.stable.version) {
      return Status::InvalidArgument("candidate.version must be above stable.version", "candidate");
    }
    if (m.steps_percent.empty() || m.steps_percent.size() > 10 || m.steps_percent.back() != 100) {
      return Status::InvalidArgument("steps_percent must be 1 to 10 steps ending at 100",
                                     "steps_percent");
    }
    int previous = 0;
    for (int step : m.steps_percent) {
      if (step <= previous || step > 100) {
        return Status::InvalidArgument("steps_percent must rise strictly within 1..100",
                                       "steps_percent");
      }
      previous = step;
    }
    if (!IsLowerHex(m.cohort_salt, 32)) {
      return Status::InvalidArgument("cohort_salt must be 32 lowercase hex characters",
                                     "cohort_salt");
    }
  } else if (!m.steps_percent.empty() || !m.cohort_salt.empty()) {
    return Status::InvalidArgument("only a rollout has steps_percent and cohort_salt",
                                   "steps_percent");
  }
  if (m.kind == ReleaseKind::kRevert) {
    if (m.reverts < 1 || m.reverts >= m.sequence) {
      return Status::InvalidArgument("reverts must name an earlier sequence", "reverts");
    }
    if (!IsLowerHex(m.candidate_sha256, 64)) {
      return Status::InvalidArgument("candidate_sha256 must be 64 lowercase hex characters",
                                     "candidate_sha256");
    }
  } else if (m.reverts != 0 || !m.candidate_sha256.empty()) {
    return Status::InvalidArgument("only a revert has reverts and candidate_sha256", "reverts");
  }
  if (m.kind == ReleaseKind::kPromote) {
    if (m.promotes < 1 || m.promotes >= m.sequence) {
      return Status::InvalidArgument("promotes must name an earlier sequence", "promotes");
    }
  } else if (m.promotes != 0) {
    return Status::InvalidArgument("only a promotion has promotes", "promotes");
  }
  return Status::Ok();
}

std::string CanonicalManifest(const ReleaseManifest& m) {
  json j = {{"format", kReleaseFormat},      {"site", m.site},
            {"sequence", m.sequence},        {"kind", ReleaseKindName(m.kind)},
            {"stable", ModelJson(m.stable)}, {"issued", m.issued},
            {"not_after", m.not_after}};
  switch (m.kind) {
    case ReleaseKind::kRollout:
      j["candidate"] = ModelJson(*m.candidate);
      j["steps_percent"] = m.steps_percent;
      j["cohort_salt"] = m.cohort_salt;
      break;
    case ReleaseKind::kRevert:
      j["reverts"] = m.reverts;
      j["candidate_sha256"] = m.candidate_sha256;
      break;
    case ReleaseKind::kPromote: j["promotes"] = m.promotes; break;
  }
  return j.dump();  // std::map keys: byte order; compact
}

Status ParseManifest(const std::string& bytes, ReleaseManifest* out) {
  const json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("a manifest is one JSON object", "manifest");
  }
  ReleaseManifest m;
  Status s;
  std::string format, kind;
  if (!ReadString(j, "format", &format, &s)) return s;
  if (format != kReleaseFormat) {
    return Status::InvalidArgument(std::string("format must be \"") + kReleaseFormat + "\"",
                                   "format");
  }
  if (!ReadString(j, "kind", &kind, &s)) return s;
  if (kind == "rollout") {
    m.kind = ReleaseKind::kRollout;
  } else if (kind == "revert") {
    m.kind = ReleaseKind::kRevert;
  } else if (kind == "promote") {
    m.kind = ReleaseKind::kPromote;
  } else {
    return Status::InvalidArgument("kind must be rollout, revert or promote", "kind");
  }
  const std::set<std::string> keys = KeysOf(m.kind);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!keys.count(it.key())) {
      return Status::InvalidArgument("a " + kind + " manifest has no field " + it.key(), it.key());
    }
  }
  if (!ReadString(j, "site", &m.site, &s) || !ReadInt(j, "sequence", &m.sequence, &s) ||
      !ReadModel(j, "stable", &m.stable, &s) || !ReadString(j, "issued", &m.issued, &s) ||
      !ReadString(j, "not_after", &m.not_after, &s)) {
    return s;
  }
  if (m.kind == ReleaseKind::kRollout) {
    m.candidate.emplace();
    if (!ReadModel(j, "candidate", &*m.candidate, &s) ||
        !ReadString(j, "cohort_salt", &m.cohort_salt, &s)) {
      return s;
    }
    auto steps = j.find("steps_percent");
    if (steps == j.end() || !steps->is_array()) {
      return Status::InvalidArgument("steps_percent must be an array of integers", "steps_percent");
    }
    for (const json& step : *steps) {
      if (!step.is_number_integer() || step.get<int64_t>() < 1 || step.get<int64_t>() > 100) {
        return Status::InvalidArgument("steps_percent must be integers 1..100", "steps_percent");
      }
      m.steps_percent.push_back(static_cast<int>(step.get<int64_t>()));
    }
  } else if (m.kind == ReleaseKind::kRevert) {
    if (!ReadInt(j, "reverts", &m.reverts, &s) ||
        !ReadString(j, "candidate_sha256", &m.candidate_sha256, &s)) {
      return s;
    }
  } else if (!ReadInt(j, "promotes", &m.promotes, &s)) {
    return s;
  }
  if (!(s = CheckManifest(m)).ok()) return s;
  if (CanonicalManifest(m) != bytes) {
    return Status::InvalidArgument(
        "the manifest is not in canonical form (keys in byte order, no white space)", "manifest");
  }
  *out = std::move(m);
  return Status::Ok();
}

Status MakeReleaseSet(const std::string& site, int64_t sequence, const ReleaseModel& stable,
                      const ReleaseModel& candidate, const std::vector<int>& steps_percent,
                      const std::string& cohort_salt, const std::string& issued,
                      const std::string& not_after, ReleaseSet* out) {
  ReleaseSet set;
  ReleaseManifest base;
  base.site = site;
  base.issued = issued;
  base.not_after = not_after;
  set.rollout = base;
  set.rollout.sequence = sequence;
  set.rollout.kind = ReleaseKind::kRollout;
  set.rollout.stable = stable;
  set.rollout.candidate = candidate;
  set.rollout.steps_percent = steps_percent;
  set.rollout.cohort_salt = cohort_salt;
  set.revert = base;
  set.revert.sequence = sequence + 1;
  set.revert.kind = ReleaseKind::kRevert;
  set.revert.stable = stable;
  set.revert.reverts = sequence;
  set.revert.candidate_sha256 = candidate.sha256;
  set.promote = base;
  set.promote.sequence = sequence + 1;
  set.promote.kind = ReleaseKind::kPromote;
  set.promote.stable = candidate;
  set.promote.promotes = sequence;
  for (const ReleaseManifest* m : {&set.rollout, &set.revert, &set.promote}) {
    Status s = CheckManifest(*m);
    if (!s.ok()) return s;
  }
  Status s = CheckReleaseSet(set);
  if (s.ok()) *out = std::move(set);
  return s;
}

Status CheckReleaseSet(const ReleaseSet& set) {
  const ReleaseManifest& r = set.rollout;
  auto bad = [](int index, const std::string& field, const std::string& why) {
    const std::string name = "manifests[" + std::to_string(index) + "]." + field;
    return Status::InvalidArgument(name + ": " + why, name);
  };
  if (r.kind != ReleaseKind::kRollout) return bad(0, "kind", "the first must be the rollout");
  if (set.revert.kind != ReleaseKind::kRevert)
    return bad(1, "kind", "the second must be the revert");
  if (set.promote.kind != ReleaseKind::kPromote) {
    return bad(2, "kind", "the third must be the promotion");
  }
  int index = 1;
  for (const ReleaseManifest* m : {&set.revert, &set.promote}) {
    if (m->site != r.site) return bad(index, "site", "differs from the rollout's");
    if (m->sequence != r.sequence + 1) {
      return bad(index, "sequence", "must be the rollout's sequence + 1");
    }
    ++index;
  }
  if (set.revert.reverts != r.sequence) return bad(1, "reverts", "must be the rollout's sequence");
  if (set.revert.stable.version != r.stable.version ||
      set.revert.stable.sha256 != r.stable.sha256) {
    return bad(1, "stable", "must be the rollout's stable version and hash");
  }
  if (set.revert.candidate_sha256 != r.candidate->sha256) {
    return bad(1, "candidate_sha256", "must be the rollout's candidate hash");
  }
  if (set.promote.promotes != r.sequence) {
    return bad(2, "promotes", "must be the rollout's sequence");
  }
  if (set.promote.stable.version != r.candidate->version ||
      set.promote.stable.sha256 != r.candidate->sha256) {
    return bad(2, "stable", "must be the rollout's candidate version and hash");
  }
  return Status::Ok();
}

}  // namespace fetal
