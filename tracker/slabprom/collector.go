package slabprom

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// A Collector exports every slab pool and ScopePool of the process to
// Prometheus: one series per pool name and type, and per ScopePool name, of
// each metric the package documentation lists. Register one per registry.
//
// A Collector holds no state between scrapes: each Collect reads the pools
// afresh (tracker.PoolTotals), so pools made after it was registered are
// exported too, and a pool that the garbage collector took away is not.
// It is safe for concurrent use.
type Collector struct {
	pool  []poolMetric
	free  *prometheus.Desc // slabtrack_free_slots, by holder
	limit *prometheus.Desc // slabtrack_objects_limit, bounded pools only
	scope []scopeMetric    // of each ScopePool

	// Debug builds only; nil in default builds, which count neither.
	quarantined *prometheus.Desc
	violations  *prometheus.Desc
	kinds       []string

	mu     sync.Mutex
	labels map[poolKey]*poolLabels // of the pools of the latest scrape
}

// A poolMetric is a metric with the labels pool and type alone, whose value
// is one figure of a pool's report.
type poolMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(r *tracker.PoolReport) float64
}

// A scopeMetric is a metric of a ScopePool, with the label scope_pool.
type scopeMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *slab.ScopePoolStats) float64
}

// Label names. Every series of a pool has pool and type, and the metrics
// that split a pool's figure add one more; those of a ScopePool have
// scope_pool.
const (
	labelPool      = "pool"
	labelType      = "type"
	labelHolder    = "holder"
	labelKind      = "kind"
	labelScopePool = "scope_pool"
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
			counter("slabtrack_slabs_trimmed_total",
				"Empty slabs handed back to the garbage collector, by Trim or the automatic trim.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.Trimmed) }),
			counter("slabtrack_trimmed_bytes_total",
				"Bytes of slot memory in the slabs handed back to the garbage collector.",
				func(r *tracker.PoolReport) float64 { return float64(r.Stats.TrimmedBytes) }),
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
	scope := func(name, help string, kind prometheus.ValueType, v func(s *slab.ScopePoolStats) float64) scopeMetric {
		return scopeMetric{prometheus.NewDesc(name, help, []string{labelScopePool}, nil), kind, v}
	}
	c.scope = []scopeMetric{
		scope("slabtrack_scopes_in_use",
			"Scopes got from the ScopePool (Get, GetContext) and not yet put back: the requests in flight.",
			prometheus.GaugeValue, func(s *slab.ScopePoolStats) float64 { return float64(s.InUse) }),
		scope("slabtrack_scopes_total",
			"Scopes got from the ScopePool.",
			prometheus.CounterValue, func(s *slab.ScopePoolStats) float64 { return float64(s.Gets) }),
		scope("slabtrack_scope_bytes",
			"Memory the scopes in use have taken so far, counted as ScopePool.MaxBytes counts it.",
			prometheus.GaugeValue, func(s *slab.ScopePoolStats) float64 { return float64(s.InUseBytes) }),
		scope("slabtrack_scope_allocated_bytes_total",
			"Bytes of objects, slices, strings and values handed out by the scopes put back; over slabtrack_scopes_total, what a request allocates.",
			prometheus.CounterValue, func(s *slab.ScopePoolStats) float64 { return float64(s.AllocatedBytes) }),
		scope("slabtrack_scope_limit_errors_total",
			"Allocations refused because a scope reached the ScopePool's MaxBytes (ErrScopeLimit).",
			prometheus.CounterValue, func(s *slab.ScopePoolStats) float64 { return float64(s.LimitErrors) }),
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
	for _, m := range c.scope {
		ch <- m.desc
	}
	if c.quarantined != nil {
		ch <- c.quarantined
		ch <- c.violations
	}
}

// Collect reads every pool and ScopePool and sends their series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collectPools(ch)
	// ScopePools are few: their series are made as the client makes them.
	for _, s := range tracker.ScopePoolTotals() {
		name := strings.ToValidUTF8(s.Name, "\uFFFD")
		for _, m := range c.scope {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s), name)
		}
	}
}

// collectPools sends the series of every pool.
func (c *Collector) collectPools(ch chan<- prometheus.Metric) {
	reports := tracker.PoolTotals()
	labels := c.labelsOf(reports)
	// Every series of the scrape in one allocation: the registry reads
	// each one's value once, as it arrives, and the dto.Metric it makes
	// points into it from then on, so the array is never reused.
	perPool := len(c.pool) + len(holders) + 1
	if c.quarantined != nil {
		perPool += 1 + len(c.kinds)
	}
	all := make([]series, 0, len(reports)*perPool)
	send := func(d *prometheus.Desc, kind prometheus.ValueType, v float64, ls []*dto.LabelPair) {
		all = append(all, series{desc: d, counter: kind == prometheus.CounterValue, labels: ls})
		s := &all[len(all)-1]
		s.value = v
		ch <- s
	}
	for i := range reports {
		r, ls := &reports[i], labels[i]
		for _, m := range c.pool {
			send(m.desc, m.kind, m.value(r), ls.pool)
		}
		st := &r.Stats
		// The slots in slabs that no one holds are what the others leave
		// of the capacity. The quarantine's count is read a moment apart
		// from Stats, so mid-flight the difference can be off by a few,
		// and is kept from going negative.
		inSlabs := max(0, st.Capacity-st.Live-st.Cached-st.ScopeFree-st.Retired-int64(r.Quarantined))
		for h, n := range [len(holders)]int64{st.Cached, st.ScopeFree, inSlabs} {
			send(c.free, prometheus.GaugeValue, float64(n), ls.holder[h])
		}
		if st.MaxObjects > 0 {
			send(c.limit, prometheus.GaugeValue, float64(st.MaxObjects), ls.pool)
		}
		if c.quarantined == nil {
			continue
		}
		send(c.quarantined, prometheus.GaugeValue, float64(r.Quarantined), ls.pool)
		for k, kind := range c.kinds {
			send(c.violations, prometheus.CounterValue, float64(r.Violations[kind]), ls.kind[k])
		}
	}
}

// holders are the values of the label holder, in the order Collect
// observes them.
var holders = [...]string{holderCache, holderScope, holderSlab}

// poolLabels are the label pairs of every series of one pool, made once
// and shared by every scrape: a registry treats them as immutable.
type poolLabels struct {
	pool   []*dto.LabelPair // pool, type
	holder [len(holders)][]*dto.LabelPair
	kind   [][]*dto.LabelPair // by Collector.kinds (debug builds)
}

type poolKey struct{ name, typ string }

// labelsOf returns the label pairs of each report's series, from those of
// the previous scrape where the pool was in it. A pool that has left
// leaves the cache with the next scrape.
func (c *Collector) labelsOf(reports []tracker.PoolReport) []*poolLabels {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.labels
	c.labels = make(map[poolKey]*poolLabels, len(reports))
	out := make([]*poolLabels, len(reports))
	for i := range reports {
		k := poolKey{reports[i].Name, reports[i].Type}
		ls := old[k]
		if ls == nil {
			ls = c.newLabels(k)
		}
		c.labels[k] = ls
		out[i] = ls
	}
	return out
}

func (c *Collector) newLabels(k poolKey) *poolLabels {
	// A label value must be valid UTF-8, or the whole scrape fails; a
	// pool's name is whatever WithName was given.
	pool := pair(labelPool, strings.ToValidUTF8(k.name, "\uFFFD"))
	typ := pair(labelType, strings.ToValidUTF8(k.typ, "\uFFFD"))
	// Sorted by name, as a registry wants them: holder and kind come
	// before pool and type.
	ls := &poolLabels{pool: []*dto.LabelPair{pool, typ}}
	for h, v := range holders {
		ls.holder[h] = []*dto.LabelPair{pair(labelHolder, v), pool, typ}
	}
	for _, v := range c.kinds {
		ls.kind = append(ls.kind, []*dto.LabelPair{pair(labelKind, v), pool, typ})
	}
	return ls
}

func pair(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }

// A series is one metric of a scrape. It is prometheus.MustNewConstMetric
// without the allocations: its label pairs are the pool's, made once, and
// its value's message is a field.
type series struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair
	counter bool // else a gauge
	value   float64
	gauge   dto.Gauge
	count   dto.Counter
}

func (s *series) Desc() *prometheus.Desc { return s.desc }

func (s *series) Write(out *dto.Metric) error {
	out.Label = s.labels
	if s.counter {
		s.count.Value = &s.value
		out.Counter = &s.count
	} else {
		s.gauge.Value = &s.value
		out.Gauge = &s.gauge
	}
	return nil
}
