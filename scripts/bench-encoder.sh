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
#
# examples/search's BenchmarkEncode times the same encoders on the same
# tree from the example's module; it is not run here.
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

log "building the test binary"
go test -c -o "$tmp/slabjson.test" ./slab/slabjson

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
done
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"

log "benchstat"
search='v1-marshal v1-encoder v2-marshal v2-marshalwrite slabjson-old slabjson-old-escapehtml slabjson slabjson-escapehtml slabjson-likeencodingjson'
{
	echo "## The search response, against encoding/json's Marshal"
	"${BENCHSTAT[@]}" -filter '.name:EncodeSearch' -col "/encoder@($search)" "$raw"
	echo
	echo "## The search response, against json v2's Marshal"
	"${BENCHSTAT[@]}" -filter '.name:EncodeSearch' -col "/encoder@(v2-marshal ${search/v2-marshal /})" "$raw"
	echo
	echo "## The bid response (HTML escaped), against encoding/json's Encoder"
	"${BENCHSTAT[@]}" -filter '.name:Encode' -col '/encoder@(v1 v2-marshalwrite slabjson-old slabjson)' "$raw"
} >"$OUT/encoder.benchstat.txt"

# Every round's CPU per op of the search response, and its ratios.
awk '
	/^# round/ { r = $3 }
	/^BenchmarkEncodeSearch\// {
		split($1, a, "encoder="); enc = a[2]; sub(/-[0-9]+$/, "", enc)
		for (i = 1; i < NF; i++) if ($(i+1) == "cpu-ns/op") cpu[r, enc] = $i
		encs[enc] = 1; rounds[r] = 1
	}
	END {
		printf "round  slabjson cpu-µs  /v1-marshal  /v1-encoder  /v2-marshal  /v2-marshalwrite  likeencodingjson/v1-marshal  escapehtml/v1-marshal\n"
		for (r = 1; r in rounds; r++) {
			s = cpu[r, "slabjson"]
			printf "%5d  %15.1f  %11.2f  %11.2f  %11.2f  %16.2f  %27.2f  %21.2f\n", r, s / 1000,
				s / cpu[r, "v1-marshal"], s / cpu[r, "v1-encoder"], s / cpu[r, "v2-marshal"], s / cpu[r, "v2-marshalwrite"],
				cpu[r, "slabjson-likeencodingjson"] / cpu[r, "v1-marshal"], cpu[r, "slabjson-escapehtml"] / cpu[r, "v1-marshal"]
		}
	}' "$raw" >"$OUT/encoder.rounds.txt"
cat "$OUT/encoder.rounds.txt"
