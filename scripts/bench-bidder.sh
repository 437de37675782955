#!/usr/bin/env bash
# Measures the bidder example's allocation strategies (examples/bidder),
# keeps the raw output in bench/ and rewrites the bidder section of
# BENCHMARKS.md. One command regenerates it all:
#
#   scripts/bench-bidder.sh
#
# It builds the bidder twice, as released and with GOEXPERIMENT=arenas (for
# the arena strategy only), and runs `bidder bench`, which runs every
# measurement in a child process of its own, in interleaved rounds, and
# prints each round as it ends. Flags are passed on to it, for example:
#
#   scripts/bench-bidder.sh -rounds 3 -heap-rounds 2
#
# Writes bench/bidder.txt (every child's line), bench/bidder.md (the
# report), bench/bidder-profile-*.txt (go tool pprof -top of each strategy)
# and the section of BENCHMARKS.md between its markers.
set -euo pipefail

cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/bidder" ./examples/bidder
GOEXPERIMENT=arenas go build -o "$tmp/bidder-arenas" ./examples/bidder
"$tmp/bidder" bench -arenas "$tmp/bidder-arenas" -out bench -doc BENCHMARKS.md -profile "$@"
