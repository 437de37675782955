module github.com/slabtrack/slabtrack/examples

go 1.26

require (
	github.com/go-json-experiment/json v1.27.2
	github.com/slabtrack/slabtrack v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/bits-and-blooms/bitset v1.29.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

// The examples are built from this repository's library.
replace github.com/slabtrack/slabtrack => ../
