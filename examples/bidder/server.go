package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// maxBody is the largest bid request the server reads.
const maxBody = 1 << 20

// bidder is the HTTP service: one strategy, and the Sources its requests
// take, one per request in progress (a scope strategy's Sources hold the
// request's scope).
type bidder struct {
	st      Strategy
	sources sync.Pool // of *Sources
	bufs    sync.Pool // of *bytes.Buffer, for bodies and responses
}

func newBidder(st Strategy) *bidder {
	b := &bidder{st: st}
	b.sources.New = func() any { return st.NewSources() }
	b.bufs.New = func() any { return new(bytes.Buffer) }
	return b
}

// ServeHTTP serves POST /openrtb2/auction (a bid request in, a bid
// response out) and GET /sample?seed=N (a generated request to send).
func (b *bidder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/openrtb2/auction" && r.Method == http.MethodPost:
		b.auction(w, r)
	case r.URL.Path == "/sample" && r.Method == http.MethodGet:
		seed, err := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		if err != nil || seed == 0 {
			seed = 1
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(workload.SampleBidRequest(seed))
	default:
		http.Error(w, "POST /openrtb2/auction or GET /sample?seed=N", http.StatusNotFound)
	}
}

func (b *bidder) auction(w http.ResponseWriter, r *http.Request) {
	in, out := b.bufs.Get().(*bytes.Buffer), b.bufs.Get().(*bytes.Buffer)
	defer func() {
		in.Reset()
		out.Reset()
		b.bufs.Put(in)
		b.bufs.Put(out)
	}()
	if _, err := in.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody)); err != nil {
		http.Error(w, "cannot read the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	src := b.sources.Get().(*Sources)
	err := Handle(src, in.Bytes(), out)
	b.sources.Put(src)
	if err != nil {
		http.Error(w, "bad bid request: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out.Bytes())
}

// serveCmd is bidder serve: the bidder over HTTP, on loopback by default.
func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	alloc := fs.String("alloc", "scope", "strategy: "+strings.Join(strategyNames(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, ok := strategy(*alloc)
	if !ok {
		return fmt.Errorf("serve: unknown strategy %q: want one of %s", *alloc, strings.Join(strategyNames(), ", "))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	a := ln.Addr().String()
	log.Printf("bidder (%s, %s) on http://%s\n"+
		"  curl -s http://%s/sample?seed=1 | curl -s -X POST --data-binary @- http://%s/openrtb2/auction", st.Name, st.Doc, a, a, a)
	return http.Serve(ln, newBidder(st))
}
