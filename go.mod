module github.com/slabtrack/slabtrack

go 1.26

require github.com/bits-and-blooms/bitset v1.29.0

require github.com/go-json-experiment/json v1.27.2

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
