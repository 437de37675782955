#!/usr/bin/env bash
# Counts the instructions each encoder executes per op on the benchmarks'
# response trees, under valgrind (cachegrind, no cache simulation): a
# figure that, unlike time, does not depend on what else the machine runs.
# Instructions are not time (cache misses and mispredicted branches cost
# more than one), so this complements scripts/bench-encoder.sh:
#
#   scripts/count-encoder.sh
#
# Each sub-benchmark runs twice, for 1 op and for 1+N ops; the difference
# over N is its count per op, setup excluded. The GC is off, so that
# its work, which varies from run to run, is not counted (encoding/json's
# and json v2's Marshal allocate the output of each op). Needs valgrind.
#
# Settings (environment):
#   N=100          ops per count
#   OLD=           a slabjson test binary built from an older tree, counted
#                  too, its slabjson encoders as slabjson-old
#   OUT=bench      where encoder.instructions.txt goes
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-100}
OUT=${OUT:-bench}
OLD=${OLD:-}
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -c -o "$tmp/slabjson.test" ./slab/slabjson

# count BINARY BENCH NAME: instructions per op of BENCH/encoder=NAME.
count() {
	local bin=$1 bench=$2 name=$3 one many
	# ir OPS: the instructions of a run of OPS ops. valgrind does not know
	# RDTSCP, which the runtime would execute when its locks are contended:
	# cpu.rdtscp=off makes it use RDTSC; a run that fails all the same is
	# run again.
	ir() {
		local out
		for _ in 1 2 3 4 5; do
			out=$(cd slab/slabjson && GOGC=off GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 valgrind --tool=cachegrind \
				--cache-sim=no --cachegrind-out-file=/dev/null "$bin" -test.run '^$' \
				-test.bench "^$bench\$/^encoder=$name\$" -test.benchtime "$1" 2>&1) || true
			if grep -q '^PASS$' <<<"$out"; then
				awk '/I *refs:/ { gsub(",", "", $4); print $4 }' <<<"$out"
				return
			fi
		done
		echo "count-encoder: $bench/encoder=$name failed 5 times under valgrind" >&2
	}
	one=$(ir 1x)
	many=$(ir "${N}x")
	if [[ -z $one || -z $many ]]; then
		echo failed
		return
	fi
	echo $(((many - one) / N))
}

{
	echo "# instructions per op (valgrind cachegrind), $N ops, commit $(git rev-parse --short HEAD), $(go version | cut -d' ' -f3)"
	printf '%-28s %14s %14s\n' encoder EncodeSearch 'Encode (bid)'
	for name in v1-marshal v1-encoder v2-marshal v2-marshalwrite slabjson slabjson-escapehtml slabjson-likeencodingjson; do
		bid=-
		case $name in slabjson) bid=$(count "$tmp/slabjson.test" BenchmarkEncode slabjson) ;; esac
		printf '%-28s %14s %14s\n' "$name" "$(count "$tmp/slabjson.test" BenchmarkEncodeSearch "$name")" "$bid"
	done
	printf '%-28s %14s %14s\n' v1 - "$(count "$tmp/slabjson.test" BenchmarkEncode v1)"
	printf '%-28s %14s %14s\n' v2-marshalwrite-html - "$(count "$tmp/slabjson.test" BenchmarkEncode v2-marshalwrite)"
	if [[ -n $OLD ]]; then
		printf '%-28s %14s %14s\n' slabjson-old "$(count "$OLD" BenchmarkEncodeSearch slabjson)" "$(count "$OLD" BenchmarkEncode slabjson)"
		printf '%-28s %14s %14s\n' slabjson-old-escapehtml "$(count "$OLD" BenchmarkEncodeSearch slabjson-escapehtml)" -
	fi
} | tee "$OUT/encoder.instructions.txt"
