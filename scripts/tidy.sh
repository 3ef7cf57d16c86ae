#!/usr/bin/env bash
# Runs clang-tidy with the repository's .clang-tidy over the native C++ sources (model/, server/,
# and with --all also tests/ and bench/), then prints how many warnings each check gave.
#   scripts/tidy.sh [--all] [FILE.cc...]
# Needs compile commands: configures build-tidy/ for them (a configure only, nothing is built).
# Not part of the test command (docs/development.md says what it reports). Exit status: 0 when
# there are no warnings, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=build-tidy

dirs=(model server)
if [ "${1:-}" = --all ]; then dirs+=(tests bench); shift; fi
case "${1:-}" in -h|--help) sed -n '2,7p' "$0"; exit 0 ;; esac
command -v clang-tidy >/dev/null || { echo "tidy.sh: clang-tidy not found (scripts/setup.sh installs it)" >&2; exit 2; }

cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  pattern=$(printf '|%s/' "${dirs[@]}"); pattern="^$PWD/(${pattern:1})"
  mapfile -t files < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$DIR/compile_commands.json" |
                       grep -E "$pattern" | sort -u)
fi
[ ${#files[@]} -gt 0 ] || { echo "tidy.sh: no sources found in $DIR/compile_commands.json" >&2; exit 2; }

out=$(mktemp)
trap 'rm -f "$out" "$out.unique"' EXIT
printf '%s\n' "${files[@]}" | xargs -P"${FETAL_JOBS:-2}" -n1 clang-tidy -p "$DIR" --quiet 2>/dev/null >"$out" || true
# A header's warning is reported once per source including it: count each place once.
grep -E '^/.*:[0-9]+:[0-9]+: (warning|error):' "$out" | sort -u | tee "$out.unique"
echo
echo "tidy.sh: warnings per check over ${#files[@]} sources:"
sed -E 's/.*\[([^]]+)\]$/\1/' "$out.unique" | sort | uniq -c | sort -rn
total=$(wc -l <"$out.unique")
echo "tidy.sh: $total warnings"
[ "$total" -eq 0 ]
