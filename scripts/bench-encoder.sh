#!/usr/bin/env bash
# Measures slab/slabjson's Encoder against encoding/json and json v2 on the
# same response trees, and keeps the raw output and benchstat tables in
# bench/:
#
#   scripts/bench-encoder.sh
#
# The rounds are interleaved: each test binary is built once and run ROUNDS
# times, each run covering every encoder once, so that a burst of load on
# this 2-core machine spreads over all of them; benchstat then takes the
# median of the rounds. Besides ns/op, each benchmark reports cpu-ns/op, the
# process's CPU time per op, which other processes on a busy machine do not
# inflate.
#
# Settings (environment):
#   ROUNDS=8        rounds
#   BENCHTIME=1s    -test.benchtime of each sub-benchmark
#   OLD=            a slabjson test binary built from an older tree, run in
#                   the same rounds; its slabjson sub-benchmarks are renamed
#                   slabjson-old
#   OUT=bench       where the raw and rendered results go
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-8}
BENCHTIME=${BENCHTIME:-1s}
OUT=${OUT:-bench}
OLD=${OLD:-}
BENCHSTAT=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

log "building the test binaries"
go test -c -o "$tmp/slabjson.test" ./slab/slabjson
(cd examples && go test -c -o "$tmp/search.test" ./search)

raw=$OUT/encoder.txt
{
	echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# commit: $(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!bench' || echo ' (with uncommitted changes)')"
	echo "# go: $(go version)"
	echo "# rounds: $ROUNDS; benchtime $BENCHTIME"
} >"$raw"
for r in $(seq "$ROUNDS"); do
	log "round $r of $ROUNDS, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# round $r load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
	(cd slab/slabjson && "$tmp/slabjson.test" -test.run '^$' -test.bench 'BenchmarkEncode(Search)?$' \
		-test.benchmem -test.benchtime "$BENCHTIME" -test.count 1) >>"$raw"
	if [[ -n $OLD ]]; then
		(cd slab/slabjson && "$OLD" -test.run '^$' -test.bench 'BenchmarkEncode(Search)?$/encoder=slabjson' \
			-test.benchmem -test.benchtime "$BENCHTIME" -test.count 1) |
			sed 's/encoder=slabjson-/encoder=slabjson-old-/; s/encoder=slabjson\([ \t]\)/encoder=slabjson-old\1/' >>"$raw"
	fi
	(cd examples/search && "$tmp/search.test" -test.run '^$' -test.bench 'BenchmarkEncode$' \
		-test.benchmem -test.benchtime "$BENCHTIME" -test.count 1) >>"$raw"
done

log "benchstat"
"${BENCHSTAT[@]}" -col '/encoder' "$raw" >"$OUT/encoder.benchstat.txt"
cat "$OUT/encoder.benchstat.txt"
