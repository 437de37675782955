#!/usr/bin/env bash
# Checks the slabvet analyzers and runs them over this repository:
#
#   scripts/slabvet.sh          everything below
#   scripts/slabvet.sh vet      only the run over the repository
#
# The analyzers are a module of their own (analysis/, see
# analysis/slabvet/README.md), so the repository's go test, go vet and
# staticcheck do not reach them; this script does: their tests (the
# labelled corpus prints its precision and recall), go vet, staticcheck,
# then go vet -vettool=slabvet over the repository, release and slabdebug
# builds, tests included. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}

if [[ ${1:-all} != vet ]]; then
	(
		cd analysis
		go vet ./...
		go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
		go test -v -run TestPrecisionRecall ./slabvet/
		go test ./...
	)
fi

tool=$(mktemp -d)/slabvet
trap 'rm -rf "$(dirname "$tool")"' EXIT
(cd analysis && go build -o "$tool" ./cmd/slabvet)
go vet -vettool="$tool" ./... ./examples/...
go vet -tags slabdebug -vettool="$tool" ./... ./examples/...
echo "slabvet: no findings"
