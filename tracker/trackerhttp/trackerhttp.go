// Package trackerhttp serves slabtrack's reports over HTTP and publishes
// them with expvar. It is a package of its own so that importing slab does
// not import net/http and expvar, whose init registers /debug/vars.
//
//	http.Handle("/debug/slab", trackerhttp.Handler())
//	trackerhttp.PublishExpvar("slabtrack")
package trackerhttp

import (
	"expvar"
	"net/http"

	"github.com/slabtrack/slabtrack/tracker"
)

// Handler returns an http.Handler that serves tracker.WriteReport as plain
// text: every pool's statistics, its live objects by allocation site (debug
// builds), the objects dropped without Free, and the quarantine check. Mount
// it at /debug/slab on an address that only operators can reach: the report
// names source files and functions and shows heap addresses. It leaves out
// the bytes that writes after free wrote, which may be any data of the
// program; the ViolationHandler receives them.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_ = tracker.WriteReport(w) // the client went away; nothing to do
	})
}

// PublishExpvar publishes tracker.Pools() under name in expvar, so that
// /debug/vars shows every pool's Stats and live objects by site.
//
// PublishExpvar panics, as expvar.Publish does, if name is already
// published.
func PublishExpvar(name string) {
	expvar.Publish(name, expvar.Func(func() any { return tracker.Pools() }))
}
