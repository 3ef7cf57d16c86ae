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
# Retrain only when the trainer or the data changed. The bundle's metrics come from the nested
# cross-validation of the procedure on the published folds (about 4-5 min of CPU), one split per
# core.
if [ ! -f "$OUT/default.fhm" ] || [ "$CLI" -nt "$OUT/default.fhm" ] || [ "$DATA" -nt "$OUT/default.fhm" ]; then
  "$CLI" train --data "$DATA" --out "$OUT/default.fhm" --card "$OUT/MODEL_CARD.md" \
    --jobs "$(nproc 2>/dev/null || echo 2)"
  "$CLI" sign --key "$OUT/signing-key.pem" "$OUT/default.fhm"
fi
"$CLI" verify --pubkey "$OUT/signing-public.pem" "$OUT/default.fhm"
