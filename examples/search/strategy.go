package main

import (
	"bytes"
	jsonv1 "encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// A Strategy is one value of -alloc: where a request's objects, slices and
// strings come from, how they go back, and which encoder writes the
// response.
type Strategy struct {
	Name string
	// Bytes names the strategies that write the same bytes: "v1" for
	// encoding/json's (HTML escaped), "v2" for json v2's.
	Bytes     string
	newWorker func() *Worker
}

// A Worker serves requests one at a time with a strategy: it holds the
// Sources of the request in progress and the buffer that the response is
// encoded into, both recycled from one request to the next. A Worker
// belongs to one goroutine at a time.
type Worker struct {
	src *workload.SearchSources
	// begin is called before a request's first allocation, release after
	// its response is written.
	begin, release func()
	encode         func(w *bytes.Buffer, resp *workload.SearchResponse) error
	out            bytes.Buffer
}

// Serve answers q: it builds the response, encodes it into the worker's
// buffer and writes it to w with one Write call, then gives the request's
// memory back.
func (wk *Worker) Serve(q workload.Query, w io.Writer) error {
	wk.begin()
	defer wk.release()
	resp := workload.Search(wk.src, q)
	wk.out.Reset()
	if err := wk.encode(&wk.out, resp); err != nil {
		return err
	}
	_, err := w.Write(wk.out.Bytes())
	return err
}

// NewWorker returns a worker of s.
func (s *Strategy) NewWorker() *Worker { return s.newWorker() }

// Strategies returns every strategy, in the order -compare runs them.
func Strategies() []*Strategy {
	return []*Strategy{
		{Name: "heap+v1", Bytes: "v1", newWorker: func() *Worker { return heapWorker(encodeV1) }},
		{Name: "syncpool+v1", Bytes: "v1", newWorker: syncPoolWorker(encodeV1)},
		{Name: "syncpool+v2", Bytes: "v2", newWorker: syncPoolWorker(encodeV2)},
		{Name: "scope+slabjson", Bytes: "v2", newWorker: scopeWorker(slabjson.NewEncoder())},
		{Name: "scope+slabjson-v1", Bytes: "v1", newWorker: scopeWorker(slabjson.NewEncoder(slabjson.LikeEncodingJSON()))},
	}
}

// strategyNames lists the names of Strategies.
func strategyNames() []string {
	var names []string
	for _, s := range Strategies() {
		names = append(names, s.Name)
	}
	return names
}

// strategyNamed returns the strategy called name.
func strategyNamed(name string) (*Strategy, error) {
	for _, s := range Strategies() {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown strategy %q: want one of %s", name, strings.Join(strategyNames(), ", "))
}

// encodeV1 writes resp with encoding/json's Encoder: HTML escaped and a
// newline after the value.
func encodeV1(w *bytes.Buffer, resp *workload.SearchResponse) error {
	return jsonv1.NewEncoder(w).Encode(resp)
}

// encodeV2 writes resp with json v2's defaults and a newline, as json v2's
// users write a response.
func encodeV2(w *bytes.Buffer, resp *workload.SearchResponse) error {
	if err := json.MarshalWrite(w, resp); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// heapWorker allocates with new and make and leaves the request to the
// garbage collector.
func heapWorker(encode func(*bytes.Buffer, *workload.SearchResponse) error) *Worker {
	return &Worker{src: workload.SearchHeapSources(), begin: func() {}, release: func() {}, encode: encode}
}

// syncPoolWorker returns a function making workers that take every object
// from a sync.Pool of its type, shared by the strategy's workers, and put
// it back after the response is written, through its Reset method if it
// has slices (which keeps their capacity) or zeroed. That is how Go
// services pool request objects today.
func syncPoolWorker(encode func(*bytes.Buffer, *workload.SearchResponse) error) func() *Worker {
	var ps [12]sync.Pool
	return func() *Worker {
		var gives []func()
		src := &workload.SearchSources{
			Response:  pooled(&ps[0], (*workload.SearchResponse).Reset, &gives),
			Page:      pooled(&ps[1], zero[workload.Page], &gives),
			Hit:       pooled(&ps[2], (*workload.Hit).Reset, &gives),
			Price:     pooled(&ps[3], zero[workload.Price], &gives),
			Seller:    pooled(&ps[4], zero[workload.Seller], &gives),
			Rating:    pooled(&ps[5], zero[workload.Rating], &gives),
			Stock:     pooled(&ps[6], zero[workload.Stock], &gives),
			Image:     pooled(&ps[7], zero[workload.Image], &gives),
			Variant:   pooled(&ps[8], zero[workload.Variant], &gives),
			Highlight: pooled(&ps[9], zero[workload.Highlight], &gives),
			Facet:     pooled(&ps[10], (*workload.Facet).Reset, &gives),
			Bucket:    pooled(&ps[11], zero[workload.Bucket], &gives),
		}
		workload.SetGoSlices(src)
		return &Worker{src: src, begin: func() {}, encode: encode, release: func() {
			for _, give := range gives {
				give()
			}
		}}
	}
}

// zero resets x to its zero value.
func zero[T any](x *T) {
	var z T
	*x = z
}

// poolSource is a workload.Allocator over a sync.Pool that remembers what it
// handed out, so that giveBack can reset it and put it back.
type poolSource[T any] struct {
	pool  *sync.Pool
	reset func(*T)
	taken []*T
}

// pooled returns a poolSource and adds its giveBack to gives.
func pooled[T any](p *sync.Pool, reset func(*T), gives *[]func()) *poolSource[T] {
	s := &poolSource[T]{pool: p, reset: reset}
	*gives = append(*gives, s.giveBack)
	return s
}

func (s *poolSource[T]) Alloc() *T {
	x, _ := s.pool.Get().(*T)
	if x == nil {
		x = new(T)
	}
	s.taken = append(s.taken, x)
	return x
}

func (s *poolSource[T]) giveBack() {
	for i, x := range s.taken {
		s.reset(x)
		s.pool.Put(x)
		s.taken[i] = nil
	}
	s.taken = s.taken[:0]
}

// scopeWorker returns a function making workers that allocate every
// object, slice and string of a request in a slab.Scope from a
// slab.ScopePool shared by the strategy's workers, released at once after
// the response is written, and encode with enc.
func scopeWorker(enc *slabjson.Encoder) func() *Worker {
	var pool slab.ScopePool
	return func() *Worker {
		in := new(inScope)
		src := &workload.SearchSources{
			Response: scoped[workload.SearchResponse]{in}, Page: scoped[workload.Page]{in},
			Hit: scoped[workload.Hit]{in}, Price: scoped[workload.Price]{in},
			Seller: scoped[workload.Seller]{in}, Rating: scoped[workload.Rating]{in},
			Stock: scoped[workload.Stock]{in}, Image: scoped[workload.Image]{in},
			Variant: scoped[workload.Variant]{in}, Highlight: scoped[workload.Highlight]{in},
			Facet: scoped[workload.Facet]{in}, Bucket: scoped[workload.Bucket]{in},
			Hits: scopedSlices[*workload.Hit]{in}, Images: scopedSlices[*workload.Image]{in},
			Variants: scopedSlices[*workload.Variant]{in}, Highlights: scopedSlices[*workload.Highlight]{in},
			Facets: scopedSlices[*workload.Facet]{in}, Buckets: scopedSlices[*workload.Bucket]{in},
			Strings: scopedSlices[string]{in}, Text: scopedText{in},
		}
		return &Worker{
			src:     src,
			begin:   func() { in.s = pool.Get() },
			release: func() { pool.Put(in.s); in.s = nil },
			encode:  func(w *bytes.Buffer, resp *workload.SearchResponse) error { return enc.Encode(w, resp) },
		}
	}
}

// inScope holds the scope of the request in progress.
type inScope struct{ s *slab.Scope }

// scoped allocates objects in the request's scope.
type scoped[T any] struct{ in *inScope }

func (a scoped[T]) Alloc() *T { return slab.NewIn[T](a.in.s) }

// scopedSlices grows slices in the request's scope.
type scopedSlices[E any] struct{ in *inScope }

func (a scopedSlices[E]) Grow(s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	return slab.AppendIn(a.in.s, slab.MakeSliceIn[E](a.in.s, 0, max(2*cap(s), len(s)+n)), s...)
}

// scopedText copies strings into the request's scope.
type scopedText struct{ in *inScope }

func (a scopedText) String(b []byte) string { return slab.StringIn(a.in.s, b) }
