package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// BenchmarkEncodeSearch encodes the response tree of a product search (68
// KB of JSON: 720 objects, strings, floats, no maps) per op, the same tree
// for every encoder: encoding/json's Marshal and its Encoder into a
// recycled buffer, json v2's Marshal and MarshalWrite, and slabjson's
// Encoder with its default (json v2's bytes), with EscapeHTML, and with
// LikeEncodingJSON (encoding/json's bytes).
func BenchmarkEncodeSearch(b *testing.B) {
	resp := workload.Search(workload.SearchHeapSources(), workload.Queries()[0])
	v1, err := jsonv1.Marshal(resp)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	run := func(b *testing.B, encode func() error) {
		b.ReportAllocs()
		b.SetBytes(int64(len(v1)))
		cpu, _ := clock.ProcessCPU()
		for b.Loop() {
			buf.Reset()
			if err := encode(); err != nil {
				b.Fatal(err)
			}
		}
		// The process's CPU time per op, which a busy machine's other
		// processes do not inflate as they inflate ns/op.
		if end, ok := clock.ProcessCPU(); ok {
			b.ReportMetric(float64((end-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
	b.Run("encoder=v1-marshal", func(b *testing.B) {
		run(b, func() error {
			out, err := jsonv1.Marshal(resp)
			buf.Write(out)
			return err
		})
	})
	b.Run("encoder=v1-encoder", func(b *testing.B) {
		run(b, func() error { return jsonv1.NewEncoder(&buf).Encode(resp) })
	})
	b.Run("encoder=v2-marshal", func(b *testing.B) {
		run(b, func() error {
			out, err := json.Marshal(resp)
			buf.Write(out)
			return err
		})
	})
	b.Run("encoder=v2-marshalwrite", func(b *testing.B) {
		run(b, func() error { return json.MarshalWrite(&buf, resp) })
	})
	e := slabjson.NewEncoder()
	b.Run("encoder=slabjson", func(b *testing.B) {
		run(b, func() error { return e.Encode(&buf, resp) })
	})
	eh := slabjson.NewEncoder(slabjson.EscapeHTML())
	b.Run("encoder=slabjson-escapehtml", func(b *testing.B) {
		run(b, func() error { return eh.Encode(&buf, resp) })
	})
	ev1 := slabjson.NewEncoder(slabjson.LikeEncodingJSON())
	b.Run("encoder=slabjson-likeencodingjson", func(b *testing.B) {
		run(b, func() error { return ev1.Encode(&buf, resp) })
	})
}
