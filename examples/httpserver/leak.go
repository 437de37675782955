package main

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// leakDemo is the bug that -leak switches on: after pricing, the handler
// records the order in a request log whose entries come from Pool.Alloc,
// and forgets to Free them. The server keeps serving and logs the leak.
type leakDemo struct {
	pool *slab.Pool[workload.AuditEvent]
	log  *slog.Logger
	// lastCheck is when the leak was last looked for (Unix nanoseconds);
	// reported is the leaked count in the last report.
	lastCheck atomic.Int64
	reported  atomic.Int64
}

func newLeakDemo(log *slog.Logger) *leakDemo {
	return &leakDemo{pool: slab.New[workload.AuditEvent](slab.WithName("request-log")), log: log}
}

// forgetFree is the leaking handler code. A correct version ends with
// d.pool.Free(ev) once the entry is written out.
func (d *leakDemo) forgetFree(ord *workload.Order) {
	ev := d.pool.Alloc() //slabvet:ignore lostfree leaked on purpose: never freed
	ev.Kind = evOrderPriced
	ev.Amount = ord.Totals.Total
	ev.Seq = int32(ord.Audit.Events)
	d.check()
}

// check logs the leak report when more objects leaked since the last
// report. It runs on requests, at most once a second.
func (d *leakDemo) check() {
	now := time.Now().UnixNano()
	last := d.lastCheck.Load()
	if now-last < int64(time.Second) || !d.lastCheck.CompareAndSwap(last, now) {
		return
	}
	live, report := leakReport(d.pool)
	if live <= d.reported.Load() {
		return
	}
	d.reported.Store(live)
	d.log.Warn("objects leaked", "pool", d.pool.Stats().Name, "live", live, "report", report)
}

// leakReport describes the objects of p that are still allocated. It is the
// one place to change when the slabdebug tracker offers a report by
// allocation site (tracker.Find with an option selecting the pool): default
// builds only know how many objects are live, not which line took them.
func leakReport(p *slab.Pool[workload.AuditEvent]) (live int64, report string) {
	st := p.Stats()
	return st.Live, fmt.Sprintf("%d object(s) of %s, %d bytes, still allocated in pool %q; "+
		"rebuild with -tags slabdebug to see where they were allocated",
		st.Live, st.Type, st.Live*int64(unsafe.Sizeof(workload.AuditEvent{})), st.Name)
}
