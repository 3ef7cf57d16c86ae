// FIGO 2015 intrapartum CTG criteria mapped onto the SisPorto features. Each rule below is
// documented, with its threshold and the approximation it makes, in docs/figo-rules.md; keep the
// two in step and bump kFigoRuleSetVersion whenever a rule or threshold changes.
#include "fetal/figo.h"

#include <cstdio>
#include <string>

namespace fetal {

const char* const kFigoRuleSetVersion = "figo2015-sisporto-v2";

namespace {

enum Index {
  kBaseline = 0,
  kUterineContractions = 3,
  kLightDecelerations = 4,
  kSevereDecelerations = 5,
  kProlongedDecelerations = 6,
  kAbnormalLtvPercent = 9,
};

constexpr double kSecondsPer10Min = 600;

// FIGO 2015 thresholds.
constexpr double kBradycardiaPathologicalBpm = 100;  // baseline < 100 bpm: pathological
constexpr double kNormalBaselineLowBpm = 110;        // normal baseline 110-160 bpm
constexpr double kNormalBaselineHighBpm = 160;
// SisPorto marks a minute's long-term variability abnormal when its range is < 5 bpm, FIGO's
// reduced amplitude. Reduced variability is the trace's predominant pattern when more than half
// of its minutes are abnormal. FIGO's pathological "> 50 minutes" needs the trace's duration,
// which the data lacks, so this rule stops at suspicious.
constexpr double kReducedVariabilityPercent = 50;
constexpr double kRepetitiveShareOfContractions = 0.5;  // "with > 50 % of contractions"
// "With contractions" means something only in a labour pattern: the WHO Labour Care Guide
// (2020) alerts at <= 2 contractions per 10 minutes in active labour.
constexpr double kLabourContractionsPer10Min = 2;
constexpr double kRepetitiveProlongedPer10Min = 1;
constexpr double kTachysystolePer10Min = 5;  // > 5 contractions per 10 minutes

std::string Fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[200];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

}  // namespace

const char* FigoClassName(FigoClass c) {
  switch (c) {
    case FigoClass::kNormal: return "Normal";
    case FigoClass::kSuspicious: return "Suspicious";
    case FigoClass::kPathological: return "Pathological";
  }
  return "Normal";
}

FigoResult EvaluateFigo(const float* features) {
  FigoResult result;
  auto add = [&](const char* id, FigoClass level, int feature, double value, double limit,
                 std::string message) {
    result.flags.push_back(FigoFlag{id, level, feature, value, limit, std::move(message)});
    if (static_cast<int>(level) > static_cast<int>(result.figo_class)) result.figo_class = level;
  };

  // Baseline.
  const double baseline = features[kBaseline];
  if (baseline < kBradycardiaPathologicalBpm) {
    add("baseline_bradycardia_severe", FigoClass::kPathological, kBaseline, baseline,
        kBradycardiaPathologicalBpm,
        Fmt("Baseline %g bpm is below %g bpm (severe bradycardia).", baseline,
            kBradycardiaPathologicalBpm));
  } else if (baseline < kNormalBaselineLowBpm) {
    add("baseline_bradycardia", FigoClass::kSuspicious, kBaseline, baseline, kNormalBaselineLowBpm,
        Fmt("Baseline %g bpm is below %g bpm (bradycardia).", baseline, kNormalBaselineLowBpm));
  }
  if (baseline > kNormalBaselineHighBpm) {
    add("baseline_tachycardia", FigoClass::kSuspicious, kBaseline, baseline, kNormalBaselineHighBpm,
        Fmt("Baseline %g bpm is above %g bpm (tachycardia).", baseline, kNormalBaselineHighBpm));
  }

  // Variability: the share of minutes whose FHR range is < 5 bpm. SisPorto's mean long-term
  // variability is not used: it is below 5 bpm in hundreds of exams without a single abnormal
  // minute, so it cannot be the mean one-minute range (docs/figo-rules.md).
  const double abnormal_ltv = features[kAbnormalLtvPercent];
  if (abnormal_ltv > kReducedVariabilityPercent) {
    add("variability_reduced", FigoClass::kSuspicious, kAbnormalLtvPercent, abnormal_ltv,
        kReducedVariabilityPercent,
        Fmt("Long-term variability is below 5 bpm for %g %% of the trace, more than %g %% "
            "(reduced variability).",
            abnormal_ltv, kReducedVariabilityPercent));
  }

  // Decelerations, as counts per 10 minutes.
  const double contractions = features[kUterineContractions] * kSecondsPer10Min;
  const double light = features[kLightDecelerations] * kSecondsPer10Min;
  if (contractions > kLabourContractionsPer10Min &&
      light > kRepetitiveShareOfContractions * contractions) {
    add("decelerations_repetitive", FigoClass::kSuspicious, kLightDecelerations, light,
        kRepetitiveShareOfContractions * contractions,
        Fmt("%.2g light decelerations per 10 minutes, more than half of the %.2g "
            "contractions per 10 minutes (repetitive decelerations in labour).",
            light, contractions));
  }
  const double severe = features[kSevereDecelerations] * kSecondsPer10Min;
  if (severe > 0) {
    add("decelerations_severe", FigoClass::kPathological, kSevereDecelerations, severe, 0,
        Fmt("%.2g severe decelerations per 10 minutes; any severe deceleration is pathological.",
            severe));
  }
  const double prolonged = features[kProlongedDecelerations] * kSecondsPer10Min;
  if (prolonged >= kRepetitiveProlongedPer10Min) {
    add("decelerations_prolonged_repetitive", FigoClass::kPathological, kProlongedDecelerations,
        prolonged, kRepetitiveProlongedPer10Min,
        Fmt("%.2g prolonged decelerations per 10 minutes, at least %g (repetitive prolonged "
            "decelerations).",
            prolonged, kRepetitiveProlongedPer10Min));
  } else if (prolonged > 0) {
    add("decelerations_prolonged", FigoClass::kSuspicious, kProlongedDecelerations, prolonged, 0,
        Fmt("%.2g prolonged decelerations per 10 minutes (a prolonged deceleration is present).",
            prolonged));
  }

  // Uterine activity: FIGO reports tachysystole beside the CTG class, it does not change it.
  if (contractions > kTachysystolePer10Min) {
    add("uterine_tachysystole", FigoClass::kNormal, kUterineContractions, contractions,
        kTachysystolePer10Min,
        Fmt("%.2g contractions per 10 minutes, more than %g (tachysystole); this does not change "
            "the CTG class.",
            contractions, kTachysystolePer10Min));
  }
  return result;
}

}  // namespace fetal
