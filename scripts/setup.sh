#!/usr/bin/env bash
# Installs everything the project needs on Debian 12, idempotently: a second run on a machine
# that already has it all takes a second or two and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  emscripten libeigen3-dev nlohmann-json3-dev libcpp-httplib-dev
  libxgboost-dev xgboost libgtest-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libpqxx-dev postgresql libssl-dev openssl zlib1g-dev libbrotli-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  chromium wrk nginx-light
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a default PostgreSQL cluster on install; the project starts its own throwaway ones.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
      pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
    done
  fi
  # Debian's nginx starts a default site on port 80; the project runs nginx with its own config.
  if command -v systemctl >/dev/null; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  if [ -f /run/nginx.pid ]; then nginx -s stop >/dev/null 2>&1 || true; fi
else
  echo "setup: Debian packages present"
fi

# npm: reproducible from package-lock.json; skipped when node_modules was installed from this lock.
if [ -f package-lock.json ]; then
  lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.fetal-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" > node_modules/.fetal-lock-sha256
  else
    echo "setup: node_modules up to date"
  fi
fi
