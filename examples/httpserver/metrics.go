package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slabtrack/slabtrack/tracker/slabprom"
)

// withMetrics serves GET /metrics beside h: every slab pool of the process
// (package slabprom) and the Go runtime's own metrics, in Prometheus'
// exposition format. The registry is the handler's own, not the client's
// global one, so that nothing else a package registers shows up.
func withMetrics(h http.Handler) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(slabprom.NewCollector(), collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
