package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/internal/workload"
)

func main() {
	if err := runMain(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "search:", err)
		}
		os.Exit(1)
	}
}

func runMain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	alloc := fs.String("alloc", "scope+slabjson", "strategy serving requests: "+strings.Join(strategyNames(), ", "))
	sample := fs.Bool("sample", false, "print the response to the first query with -alloc and exit")
	cmp := fs.Bool("compare", false, "serve requests with every strategy of -strategies, in interleaved rounds, and print the figures")
	strategies := fs.String("strategies", strings.Join(strategyNames(), ","), "with -compare: the strategies, in order")
	base := fs.String("base", "syncpool+v2", "with -compare: the strategy the others' CPU is a ratio of")
	n := fs.Int("requests", 30000, "with -compare: requests per strategy and round")
	g := fs.Int("goroutines", 1, "with -compare: goroutines serving requests, each with a worker of its own")
	rounds := fs.Int("rounds", 5, "with -compare: rounds")
	warmup := fs.Int("warmup", 2000, "with -compare: requests per strategy served before the first round")
	heapMB := fs.Int("heap", 180, "with -compare and when serving: live pointerful background heap, MB, that the GC marks every cycle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *n < 1 || *g < 1 || *rounds < 1 || *warmup < 0 || *heapMB < 0 {
		return errors.New("-requests, -goroutines and -rounds must be >= 1, -warmup and -heap >= 0, and no arguments")
	}
	st, err := strategyNamed(*alloc)
	if err != nil {
		return err
	}
	if *sample {
		return st.NewWorker().Serve(workload.Queries()[0], stdout)
	}
	bg := workload.NewBackground(*heapMB << 20)
	defer runtime.KeepAlive(bg)
	runtime.GC()
	if *cmp {
		return compare(stdout, splitNames(*strategies), *base, *n, *g, *rounds, *warmup)
	}
	fmt.Fprintf(stdout, "serving %s on http://%s/search?q=waterproof+jacket\n", st.Name, *addr)
	return http.ListenAndServe(*addr, handler(st))
}

// handler serves GET /search?q=&brand=&sort=&page= with st, a worker per
// request in progress.
func handler(st *Strategy) http.Handler {
	workers := sync.Pool{New: func() any { return st.NewWorker() }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		q, err := parseQuery(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		wk := workers.Get().(*Worker)
		defer workers.Put(wk)
		w.Header().Set("Content-Type", "application/json")
		if err := wk.Serve(q, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux
}

// parseQuery reads a Query from r's URL: q (required), brand, sort
// (relevance, price or rating; relevance if absent) and page (from 1).
func parseQuery(r *http.Request) (workload.Query, error) {
	v := r.URL.Query()
	q := workload.Query{Text: v.Get("q"), Brand: v.Get("brand"), Sort: v.Get("sort"), Page: 1}
	if strings.TrimSpace(q.Text) == "" {
		return q, errors.New("q: missing")
	}
	switch q.Sort {
	case "":
		q.Sort = "relevance"
	case "relevance", "price", "rating":
	default:
		return q, fmt.Errorf("sort: %q is not relevance, price or rating", q.Sort)
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return q, fmt.Errorf("page: %q is not a number from 1", p)
		}
		q.Page = n
	}
	return q, nil
}
