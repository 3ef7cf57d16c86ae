#!/usr/bin/env bash
# Trains the default model bundle from the bundled dataset and signs it.
# Outputs (in build/model/): default.fhm, default.fhm.sig, MODEL_CARD.md, and the signing key pair
# signing-key.pem / signing-public.pem (created once, kept across runs: the web app trusts the public key).
# Reproducible: SOURCE_DATE_EPOCH is the commit time of the dataset, so the same data gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${FETAL_BUILD_DIR:-build}
OUT="$BUILD_DIR/model"
CLI="$BUILD_DIR/bin/fetal-model"
DATA=model/data/fetal_health.csv
mkdir -p "$OUT"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct -- "$DATA" 2>/dev/null || true)
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
if [ ! -f "$OUT/signing-key.pem" ]; then
  "$CLI" keygen --private "$OUT/signing-key.pem" --public "$OUT/signing-public.pem"
fi
# The bundle's metrics come from the nested cross-validation of the procedure on the published
# folds, one split per core: all 5 repeats of the 5 folds (25 splits, about 5 min of CPU), or the
# first FETAL_CV_REPEATS of them. The test command asks for 1: the same model (training does not
# depend on the folds), with a coarser estimate on its card, in a fifth of the time.
FOLDS=model/data/cv_folds.csv
REPEATS=${FETAL_CV_REPEATS:-5}
[[ $REPEATS =~ ^[1-5]$ ]] || { echo "default-model.sh: FETAL_CV_REPEATS must be 1 to 5, got '$REPEATS'" >&2; exit 2; }
if [ "$REPEATS" != 5 ]; then
  FOLDS="$OUT/cv_folds.first-$REPEATS-repeats.csv"
  cut -d, -f1-$((REPEATS + 1)) model/data/cv_folds.csv >"$FOLDS"
fi
# Retrain only when the trainer, the data or the number of repeats changed.
if [ ! -f "$OUT/default.fhm" ] || [ "$CLI" -nt "$OUT/default.fhm" ] || [ "$DATA" -nt "$OUT/default.fhm" ] \
   || [ "$(cat "$OUT/default.fhm.repeats" 2>/dev/null)" != "$REPEATS" ]; then
  "$CLI" train --data "$DATA" --folds "$FOLDS" --out "$OUT/default.fhm" --card "$OUT/MODEL_CARD.md" \
    --jobs "$(nproc 2>/dev/null || echo 2)"
  "$CLI" sign --key "$OUT/signing-key.pem" "$OUT/default.fhm"
  echo "$REPEATS" >"$OUT/default.fhm.repeats"
fi
"$CLI" verify --pubkey "$OUT/signing-public.pem" "$OUT/default.fhm"
