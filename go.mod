module github.com/slabtrack/slabtrack

go 1.24

require github.com/bits-and-blooms/bitset v1.29.0
