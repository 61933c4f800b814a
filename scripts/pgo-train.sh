#!/usr/bin/env bash
# Profile-guided optimisation, first step: builds an instrumented engine (and the
# two benchmark baselines, so their comparisons stay fair) into DIR/build, runs
# them over generated traffic of all five channels, and leaves the profile in
# DIR/data for the real build: cmake -DSENTRAIL_PGO_USE=DIR/data. `make` calls it
# when DIR/data has no finished profile (PGO=0 skips it).
#   scripts/pgo-train.sh DIR
# The training input is generated with another seed than the benchmarks' (7, not
# 42), so the benchmarks do not measure the very input the profile was made on.
set -euo pipefail
if [[ $# -ne 1 || "$1" == -* ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  [[ "${1:-}" == --help || "${1:-}" == -h ]] && exit 0
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(realpath -m "$1")
jobs=${JOBS:-$(nproc)}
count=${PGO_TRAINING_EVENTS:-200000}

# A profile is whole or absent: an interrupted run must not leave half of one
# that the next build would take for finished.
rm -rf "$dir/data"
mkdir -p "$dir/data"
echo "pgo: building an instrumented engine in $dir/build (the real build follows)" >&2
cmake -S "$src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSENTRAIL_BUILD_TESTS=OFF \
  -DSENTRAIL_PGO_USE= -DSENTRAIL_LTO=OFF -DSENTRAIL_PGO_GENERATE="$dir/data" >/dev/null
cmake --build "$dir/build" -j "$jobs" --target sentrail sentrail-handwritten-loop sentrail-raw-parse >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SENTRAIL_HMAC_KEY=pgo-training-key-0123456789abcdef
bin="$dir/build"
"$bin/sentrail" gen --seed 7 --count "$count" --out "$work/events" >/dev/null 2>&1
files=("$work"/events/{web,mobile,pos,supplier,badge}.jsonl)
# What the benchmarks and a backtest run: the whole pack, then the single rule
# next to its hand-written loop and the raw parse.
"$bin/sentrail" replay --rules "$src/rules/pack" --output none "${files[@]}" 2>&1 >/dev/null | grep 'sentrail replay:' >&2
"$bin/sentrail" replay --rules "$src/bench/single-rule.yml" --channel web --output none "$work/events/web.jsonl" \
  >/dev/null 2>&1
"$bin/sentrail-handwritten-loop" "$work/events/web.jsonl" >/dev/null 2>&1
"$bin/sentrail-raw-parse" "${files[@]}" >/dev/null 2>&1
if ! compgen -G "$dir/data/*.gcda" >/dev/null; then
  echo "pgo: the training runs wrote no profile to $dir/data" >&2
  exit 1
fi
revision=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "$revision $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/data/trained"
echo "pgo: profile of revision $revision in $dir/data" >&2
