#!/usr/bin/env bash
# Formats the C++ code with clang-format and the repository's .clang-format.
#   scripts/format.sh            reformats, in place, every C++ file under model/ wasm/ server/
#                                tests/ bench/ fuzz/
#   scripts/format.sh --check    changes nothing; lists the files that differ from the style
#                                and exits 1 if there are any (what the test command runs)
#   scripts/format.sh [--check] FILE...   only those files
# Files are the ones git knows (tracked, or new and not ignored), so build trees are never touched.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STYLE="file:$ROOT/.clang-format"

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
case "${1:-}" in -h|--help) sed -n '2,8p' "$0"; exit 0 ;; esac

command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (scripts/setup.sh installs it)" >&2; exit 2; }

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  cd "$ROOT"
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- model wasm server tests bench fuzz |
                       grep -E '\.(cc|cpp|h|hpp)$' | sort -u)
fi
[ ${#files[@]} -gt 0 ] || { echo "format.sh: no C++ files found" >&2; exit 2; }

if [ $check = 0 ]; then
  clang-format -i --style="$STYLE" "${files[@]}"
  echo "format.sh: formatted ${#files[@]} files"
  exit 0
fi

present=()
for f in "${files[@]}"; do
  [ -f "$f" ] && present+=("$f")  # git may list a file deleted in the working tree
done
# (clang-format given no file would read standard input)
[ ${#present[@]} -gt 0 ] || { echo "format.sh: none of the files exist" >&2; exit 2; }
# One clang-format process for all files (one per file took 30 s, mostly process start-up): it
# names each file that differs in a "FILE:LINE:COL: error: code should be clang-formatted" line.
rc=0
report=$(clang-format --style="$STYLE" --dry-run --Werror "${present[@]}" 2>&1) || rc=$?
mapfile -t differ < <(sed -nE 's/^(.+):[0-9]+:[0-9]+: (warning|error): code should be clang-formatted.*/\1/p' \
                      <<<"$report" | sort -u)
if [ $rc -ne 0 ] && [ ${#differ[@]} -eq 0 ]; then
  echo "$report" >&2
  echo "format.sh: clang-format failed (exit status $rc)" >&2
  exit 2
fi
if [ ${#differ[@]} -gt 0 ]; then
  printf '%s\n' "${differ[@]}"
  echo "format.sh: ${#differ[@]} of ${#files[@]} C++ files differ from .clang-format (fix: scripts/format.sh)" >&2
  exit 1
fi
echo "format.sh: all ${#files[@]} C++ files match .clang-format"
