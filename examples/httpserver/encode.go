package main

import (
	"bytes"
	"encoding/json"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// Response encoding: the priced Order is the response, encoded with
// encoding/json by every strategy. Its Encoder, writing into the request's
// recycled buffer, allocates nothing per response, so no strategy could do
// better by allocating differently; and it is faster here than json v2:
// slab/slabjson's Encoder, also allocation-free, takes about 1.75 times as
// long for this response (BenchmarkStages, encode=std against
// encode=slabjson).

// encodeStd appends ord to out as encoding/json's Encoder writes it: one
// line of JSON.
func encodeStd(out *bytes.Buffer, ord *workload.Order) error {
	return json.NewEncoder(out).Encode(ord)
}
