#!/usr/bin/env bash
# The product: installs what is missing, builds, trains and signs the default model, builds the
# web app and starts fetal-server on an embedded SQLite file, serving the app and the API.
#   FETAL_LISTEN   (default 127.0.0.1:8080)   FETAL_DATA_DIR (default ./data)
#   FETAL_SITE     (default local): the site the app's release manifests must name
#                  (`fetal-model release --site`), docs/rollout.md
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DFETAL_BUILD_TESTS=OFF -DFETAL_BUILD_BENCH=OFF
scripts/default-model.sh
scripts/build-wasm.sh
FETAL_SITE="${FETAL_SITE:-local}" scripts/build-web.sh
echo "run: starting fetal-server on http://${FETAL_LISTEN:-127.0.0.1:8080}/"
exec build/bin/fetal-server \
  --listen "${FETAL_LISTEN:-127.0.0.1:8080}" \
  --data-dir "${FETAL_DATA_DIR:-data}" \
  --web-root web/dist \
  --default-model build/model/default.fhm \
  --model-pubkey build/model/signing-public.pem
