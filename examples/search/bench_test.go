package main

import (
	"bytes"
	jsonv1 "encoding/json"
	"io"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// BenchmarkEncode encodes the response to the first query per op, the same
// tree for every encoder, into a recycled buffer: encoding/json's Marshal
// and Encoder, json v2's Marshal and MarshalWrite, and slabjson's Encoder
// (json v2's bytes, with EscapeHTML, and encoding/json's).
func BenchmarkEncode(b *testing.B) {
	resp := workload.Search(workload.SearchHeapSources(), workload.Queries()[0])
	size, err := jsonv1.Marshal(resp)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	run := func(b *testing.B, encode func() error) {
		b.ReportAllocs()
		b.SetBytes(int64(len(size)))
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

// BenchmarkServe serves the queries in turn, one per op, with each
// strategy's worker: building, encoding and giving back the response.
func BenchmarkServe(b *testing.B) {
	queries := workload.Queries()
	for _, st := range Strategies() {
		b.Run("alloc="+st.Name, func(b *testing.B) {
			wk := st.NewWorker()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := wk.Serve(queries[i%len(queries)], io.Discard); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
