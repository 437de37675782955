#!/usr/bin/env bash
# Runs the allocator benchmarks and the memory test, keeps the raw output in
# bench/, renders benchstat tables beside it and rewrites the generated part
# of BENCHMARKS.md. One command regenerates everything:
#
#   scripts/bench.sh
#
# The rounds are interleaved: the test binary is built once and run ROUNDS
# times, each run covering every strategy once, so that a burst of load on
# this 2-core machine spreads over all strategies instead of hitting one.
# benchstat then takes the median of the rounds.
#
# Settings (environment):
#   ROUNDS=10        rounds of BenchmarkAllocFree, BenchmarkRequest and the
#                    placement benchmarks (BenchmarkRounds, BenchmarkNeighbours,
#                    BenchmarkHandoff, BenchmarkMigrate, each with 2, 4 and 8 Ps)
#   HEAVY_ROUNDS=5   rounds of BenchmarkLiveSet (10^7 objects, ~1.5 GB peak)
#   CPUS=2,4,8       the GOMAXPROCS values of the placement benchmarks
#   BENCHTIME=1s     -test.benchtime of each sub-benchmark
#   OUT=bench        where the raw and rendered results go
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-10}
HEAVY_ROUNDS=${HEAVY_ROUNDS:-5}
BENCHTIME=${BENCHTIME:-1s}
CPUS=${CPUS:-2,4,8}
OUT=${OUT:-bench}
BENCHSTAT=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# What was measured, and on what.
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' || echo ' (with uncommitted changes)')"
	echo "go: $(go version)"
	echo "kernel: $(uname -sr)"
	echo "cpus: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
	echo "rounds: $ROUNDS (AllocFree, Request, placements with -cpu $CPUS), $HEAVY_ROUNDS (LiveSet); benchtime $BENCHTIME"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"

log "building the test binary"
go test -c -o "$tmp/slab.test" ./slab

run() { # run FILE PATTERN [FLAGS...]
	echo "$1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"
	local file=$1 pattern=$2
	shift 2
	"$tmp/slab.test" -test.run '^$' -test.bench "$pattern" -test.benchmem \
		-test.benchtime "$BENCHTIME" -test.count 1 -test.timeout 30m "$@" >>"$OUT/$file"
}

: >"$OUT/load.txt"
: >"$OUT/allocfree.txt"
: >"$OUT/request.txt"
: >"$OUT/liveset.txt"
: >"$OUT/placement.txt"
for i in $(seq "$ROUNDS"); do
	log "round $i/$ROUNDS: BenchmarkAllocFree"
	run allocfree.txt '^BenchmarkAllocFree$'
	log "round $i/$ROUNDS: BenchmarkRequest"
	run request.txt '^BenchmarkRequest$'
	log "round $i/$ROUNDS: placements"
	run placement.txt '^(BenchmarkRounds|BenchmarkNeighbours|BenchmarkHandoff|BenchmarkMigrate)$' -test.cpu "$CPUS"
	if [ "$i" -le "$HEAVY_ROUNDS" ]; then
		log "round $i/$ROUNDS: BenchmarkLiveSet"
		run liveset.txt '^BenchmarkLiveSet$'
	fi
done

log "TestMemoryOverhead"
"$tmp/slab.test" -test.run '^TestMemoryOverhead$' -test.v -test.count 1 >"$OUT/memory.txt"

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"

log "benchstat"
"${BENCHSTAT[@]}" -col '/alloc@(syncpool new chanpool slab)' "$OUT/allocfree.txt" >"$OUT/allocfree.benchstat.txt"
"${BENCHSTAT[@]}" -col '/alloc@(syncpool new chanpool slab scope)' "$OUT/request.txt" >"$OUT/request.benchstat.txt"
"${BENCHSTAT[@]}" -col '/live' "$OUT/liveset.txt" >"$OUT/liveset.benchstat.txt"
"${BENCHSTAT[@]}" -col '/alloc@(syncpool slab scope)' "$OUT/placement.txt" >"$OUT/placement.benchstat.txt"

log "rendering BENCHMARKS.md"
go run ./scripts/benchreport -dir "$OUT" -doc BENCHMARKS.md
log "done: $OUT/ and BENCHMARKS.md"
