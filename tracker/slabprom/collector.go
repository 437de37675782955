package slabprom

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slabtrack/slabtrack/tracker"
)

// A Collector exports every slab pool of the process to Prometheus: one
// series per pool name and type of each metric the package documentation
// lists. Register one per registry.
//
// A Collector holds no state between scrapes: each Collect reads the pools
// afresh (tracker.PoolTotals), so pools made after it was registered are
// exported too, and a pool that the garbage collector took away is not.
// It is safe for concurrent use.
type Collector struct {
	pool  []poolMetric
	free  *prometheus.Desc // slabtrack_free_slots, by holder
	limit *prometheus.Desc // slabtrack_objects_limit, bounded pools only

	// Debug builds only; nil in release builds, which count neither.
	quarantined *prometheus.Desc
	violations  *prometheus.Desc
	kinds       []string
}

// A poolMetric is a metric with the labels pool and type alone, whose value
// is one figure of a pool's report.
type poolMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(r *tracker.PoolReport) float64
}

// Label names. Every series has pool and type; the metrics that split a
// pool's figure add one more.
const (
	labelPool   = "pool"
	labelType   = "type"
	labelHolder = "holder"
	labelKind   = "kind"
)

// The holders of free slots, values of the label holder: a free slot is
// ready for the next Alloc of one P (cache), for the next AllocIn of one
// scope (scope), or for anyone, in its slab (slab).
const (
	holderCache = "cache"
	holderScope = "scope"
	holderSlab  = "slab"
)

// NewCollector returns a Collector of every pool of the process. Debug
// builds (-tags slabdebug) add the metrics of the quarantine and of
// violations.
func NewCollector() *Collector {
	labels := []string{labelPool, labelType}
	desc := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(labels[:len(labels):len(labels)], extra...), nil)
	}
	gauge := func(name, help string, v func(r *tracker.PoolReport) float64) poolMetric {
		return poolMetric{desc(name, help), prometheus.GaugeValue, v}
	}
	counter := func(name, help string, v func(r *tracker.PoolReport) float64) poolMetric {
		return poolMetric{desc(name, help), prometheus.CounterValue, v}
	}
	c := &Collector{
		pool: []poolMetric{
			gauge("slabtrack_objects_live",
				"Objects allocated from the pool and not yet freed, those in unreleased scopes included.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Live) }),
			gauge("slabtrack_objects_scoped",
				"Live objects allocated in scopes that have not been released yet; they count in slabtrack_objects_live too.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Scoped) }),
			gauge("slabtrack_live_bytes",
				"Bytes of the live objects: slabtrack_objects_live times the size of the type.",
				func(r *tracker.PoolReport) float64 { return float64(r.LiveBytes) }),
			gauge("slabtrack_slots",
				"Slots in the pool's slabs, whether live, free, quarantined or retired.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Capacity) }),
			gauge("slabtrack_slabs",
				"Slabs the pool holds.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Slabs) }),
			gauge("slabtrack_reserved_bytes",
				"Bytes of slot memory the pool's slabs hold, live or free.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Bytes) }),
			gauge("slabtrack_slots_high_water",
				"The most slots assigned at once since the pool was made: live objects plus the free slots that per-P caches and scopes held.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.HighWater) }),
			gauge("slabtrack_slots_retired",
				"Slots whose Ref generations ran out; they are never reused.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Retired) }),
			counter("slabtrack_allocations_total",
				"Objects allocated from the pool: Alloc, TryAlloc, AllocRef, AllocIn and NewIn.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Allocs) }),
			counter("slabtrack_frees_total",
				"Objects returned to the pool: Free, FreeRef, and the objects of released scopes.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Frees) }),
			counter("slabtrack_exhausted_total",
				"Allocations refused because the pool's bound (WithMaxObjects) was reached: ErrExhausted returned or panicked with.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Exhausted) }),
			counter("slabtrack_slabs_released_total",
				"Empty slabs handed back to the garbage collector, by Trim or the automatic trim.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Released) }),
			counter("slabtrack_released_bytes_total",
				"Bytes of slot memory in the slabs handed back to the garbage collector.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.ReleasedBytes) }),
			counter("slabtrack_guard_fallbacks_total",
				"Frees of objects on guard pages that could not be protected, because the kernel's map count (its share of it) was spent.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.GuardFallbacks) }),
		},
		free: desc("slabtrack_free_slots",
			"Free slots, by holder: per-P caches (cache), scopes, for their next AllocIn (scope), and the slabs themselves (slab).",
			labelHolder),
		limit: desc("slabtrack_objects_limit",
			"The most objects the pool lets be live at once (WithMaxObjects); only bounded pools have this series."),
	}
	if tracker.Enabled() {
		c.quarantined = desc("slabtrack_objects_quarantined",
			"Freed objects waiting in the debug quarantine before their slots are reused (debug builds).")
		c.violations = desc("slabtrack_violations_total",
			"Violations reported on the pool, by kind, such as double-free or write-after-free (debug builds).",
			labelKind)
		for _, k := range tracker.Kinds() {
			c.kinds = append(c.kinds, k.String())
		}
	}
	return c
}

// Describe sends the descriptions of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.pool {
		ch <- m.desc
	}
	ch <- c.free
	ch <- c.limit
	if c.quarantined != nil {
		ch <- c.quarantined
		ch <- c.violations
	}
}

// Collect reads every pool and sends its series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range tracker.PoolTotals() {
		c.collectPool(ch, &r)
	}
}

func (c *Collector) collectPool(ch chan<- prometheus.Metric, r *tracker.PoolReport) {
	// A label value must be valid UTF-8, or the whole scrape fails; a
	// pool's name is whatever WithName was given.
	pool, typ := strings.ToValidUTF8(r.Name, "\uFFFD"), strings.ToValidUTF8(r.Type, "\uFFFD")
	for _, m := range c.pool {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(r), pool, typ)
	}
	st := &r.Stats
	// The slots in slabs that no one holds are what the others leave of
	// the capacity. The quarantine's count is read a moment apart from
	// Stats, so mid-flight the difference can be off by a few, and is kept
	// from going negative.
	inSlabs := max(0, st.Capacity-st.Live-st.Cached-st.ScopeFree-st.Retired-int64(r.Quarantined))
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(st.Cached), pool, typ, holderCache)
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(st.ScopeFree), pool, typ, holderScope)
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(inSlabs), pool, typ, holderSlab)
	if st.MaxObjects > 0 {
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(st.MaxObjects), pool, typ)
	}
	if c.quarantined == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.quarantined, prometheus.GaugeValue, float64(r.Quarantined), pool, typ)
	for _, k := range c.kinds {
		ch <- prometheus.MustNewConstMetric(c.violations, prometheus.CounterValue, float64(r.Violations[k]), pool, typ, k)
	}
}
