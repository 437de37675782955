package slabotel

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// ScopeName is the instrumentation scope of the package's meter.
const ScopeName = "github.com/slabtrack/slabtrack/tracker/slabotel"

// Attribute keys. Every observation has pool and type; the instruments
// that split a pool's figure add one more.
const (
	AttrPool   = attribute.Key("pool")
	AttrType   = attribute.Key("type")
	AttrHolder = attribute.Key("holder") // slabtrack.pool.slots.free: cache, scope or slab
	AttrKind   = attribute.Key("kind")   // slabtrack.pool.violations: such as double-free
	// AttrScopePool is the one attribute of a ScopePool's observations.
	AttrScopePool = attribute.Key("scope_pool")
)

// A scopeInstrument observes one figure of a ScopePool's stats.
type scopeInstrument struct {
	inst  metric.Int64Observable
	value func(s *slab.ScopePoolStats) int64
}

// A poolInstrument observes one figure of a pool's report.
type poolInstrument struct {
	inst  metric.Int64Observable
	value func(r *tracker.PoolReport) int64
}

// instruments are the package's instruments on one meter.
type instruments struct {
	pool  []poolInstrument
	free  metric.Int64ObservableUpDownCounter // by holder
	limit metric.Int64ObservableGauge         // bounded pools only
	scope []scopeInstrument                   // of each ScopePool

	// Debug builds only; nil in default builds, which count neither.
	quarantined metric.Int64ObservableUpDownCounter
	violations  metric.Int64ObservableCounter
	kinds       []attribute.KeyValue

	mu    sync.Mutex
	attrs map[poolKey]*poolAttrs // of the pools of the latest collection
}

// Register creates the package's instruments on the meter of mp named
// ScopeName, and registers the callback that observes every pool of the
// process at each collection. A nil mp means otel.GetMeterProvider(), the
// global one. Call Unregister on the result to stop observing; the
// instruments stay, as the meter's always do.
//
// Register returns the meter's error if it refuses an instrument or the
// callback. Call it once per provider: a second registration would observe
// every pool a second time.
func Register(mp metric.MeterProvider) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var errs []error
	upDown := func(name, unit, desc string, v func(r *tracker.PoolReport) int64) poolInstrument {
		i, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return poolInstrument{i, v}
	}
	gauge := func(name, unit, desc string, v func(r *tracker.PoolReport) int64) poolInstrument {
		i, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return poolInstrument{i, v}
	}
	counter := func(name, unit, desc string, v func(r *tracker.PoolReport) int64) poolInstrument {
		i, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return poolInstrument{i, v}
	}
	in := &instruments{
		pool: []poolInstrument{
			upDown("slabtrack.pool.objects.live", "{object}",
				"Objects allocated from the pool and not yet freed, those in unreleased scopes included.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Live }),
			upDown("slabtrack.pool.objects.scoped", "{object}",
				"Live objects allocated in scopes that have not been released yet; they count in slabtrack.pool.objects.live too.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Scoped }),
			upDown("slabtrack.pool.memory.live", "By",
				"Bytes of the live objects: slabtrack.pool.objects.live times the size of the type.",
				func(r *tracker.PoolReport) int64 { return r.LiveBytes }),
			upDown("slabtrack.pool.slots", "{slot}",
				"Slots in the pool's slabs, whether live, free, quarantined or retired.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Capacity }),
			upDown("slabtrack.pool.slabs", "{slab}",
				"Slabs the pool holds.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Slabs }),
			upDown("slabtrack.pool.memory.reserved", "By",
				"Bytes of slot memory the pool's slabs hold, live or free.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Bytes }),
			gauge("slabtrack.pool.slots.high_water", "{slot}",
				"The most slots assigned at once since the pool was made: live objects plus the free slots that per-P caches and scopes held.",
				func(r *tracker.PoolReport) int64 { return r.Stats.HighWater }),
			upDown("slabtrack.pool.slots.retired", "{slot}",
				"Slots whose Ref generations ran out; they are never reused.",
				func(r *tracker.PoolReport) int64 { return r.Stats.Retired }),
			counter("slabtrack.pool.allocations", "{allocation}",
				"Objects allocated from the pool: Alloc, TryAlloc, AllocRef, AllocIn and NewIn.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.Allocs) }),
			counter("slabtrack.pool.frees", "{free}",
				"Objects returned to the pool: Free, FreeRef, and the objects of released scopes.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.Frees) }),
			counter("slabtrack.pool.exhausted", "{allocation}",
				"Allocations refused because the pool's bound (WithMaxObjects) was reached: ErrExhausted returned or panicked with.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.Exhausted) }),
			counter("slabtrack.pool.slabs.trimmed", "{slab}",
				"Empty slabs handed back to the garbage collector, by Trim or the automatic trim.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.Trimmed) }),
			counter("slabtrack.pool.memory.trimmed", "By",
				"Bytes of slot memory in the slabs handed back to the garbage collector.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.TrimmedBytes) }),
			counter("slabtrack.pool.guard.fallbacks", "{free}",
				"Frees of objects on guard pages that could not be protected, because the kernel's map count (its share of it) was spent.",
				func(r *tracker.PoolReport) int64 { return int64(r.Stats.GuardFallbacks) }),
		},
	}
	var err error
	in.free, err = m.Int64ObservableUpDownCounter("slabtrack.pool.slots.free", metric.WithUnit("{slot}"),
		metric.WithDescription("Free slots, by holder: per-P caches (cache), scopes, for their next AllocIn (scope), and the slabs themselves (slab)."))
	errs = append(errs, err)
	in.limit, err = m.Int64ObservableGauge("slabtrack.pool.objects.limit", metric.WithUnit("{object}"),
		metric.WithDescription("The most objects the pool lets be live at once (WithMaxObjects); only bounded pools are observed."))
	errs = append(errs, err)
	scopeUpDown := func(name, unit, desc string, v func(s *slab.ScopePoolStats) int64) scopeInstrument {
		i, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return scopeInstrument{i, v}
	}
	scopeCounter := func(name, unit, desc string, v func(s *slab.ScopePoolStats) int64) scopeInstrument {
		i, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return scopeInstrument{i, v}
	}
	in.scope = []scopeInstrument{
		scopeUpDown("slabtrack.scope_pool.scopes.in_use", "{scope}",
			"Scopes got from the ScopePool (Get, GetContext) and not yet put back: the requests in flight.",
			func(s *slab.ScopePoolStats) int64 { return s.InUse }),
		scopeCounter("slabtrack.scope_pool.scopes", "{scope}",
			"Scopes got from the ScopePool.",
			func(s *slab.ScopePoolStats) int64 { return int64(s.Gets) }),
		scopeUpDown("slabtrack.scope_pool.memory.in_use", "By",
			"Memory the scopes in use have taken so far, counted as ScopePool.MaxBytes counts it.",
			func(s *slab.ScopePoolStats) int64 { return s.InUseBytes }),
		scopeCounter("slabtrack.scope_pool.memory.allocated", "By",
			"Bytes of objects, slices, strings and values handed out by the scopes put back; over slabtrack.scope_pool.scopes, what a request allocates.",
			func(s *slab.ScopePoolStats) int64 { return int64(s.AllocatedBytes) }),
		scopeCounter("slabtrack.scope_pool.limit_errors", "{allocation}",
			"Allocations refused because a scope reached the ScopePool's MaxBytes (ErrScopeLimit).",
			func(s *slab.ScopePoolStats) int64 { return int64(s.LimitErrors) }),
	}
	insts := []metric.Observable{in.free, in.limit}
	for _, sc := range in.scope {
		insts = append(insts, sc.inst)
	}
	if tracker.Enabled() {
		in.quarantined, err = m.Int64ObservableUpDownCounter("slabtrack.pool.objects.quarantined", metric.WithUnit("{object}"),
			metric.WithDescription("Freed objects waiting in the debug quarantine before their slots are reused (debug builds)."))
		errs = append(errs, err)
		in.violations, err = m.Int64ObservableCounter("slabtrack.pool.violations", metric.WithUnit("{violation}"),
			metric.WithDescription("Violations reported on the pool, by kind, such as double-free or write-after-free (debug builds)."))
		errs = append(errs, err)
		for _, k := range tracker.Kinds() {
			in.kinds = append(in.kinds, AttrKind.String(k.String()))
		}
		insts = append(insts, in.quarantined, in.violations)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, p := range in.pool {
		insts = append(insts, p.inst)
	}
	return m.RegisterCallback(in.observe, insts...)
}

// observe is the callback: it reads every pool and ScopePool and observes
// their figures.
func (in *instruments) observe(_ context.Context, o metric.Observer) error {
	reports := tracker.PoolTotals()
	attrs := in.attrsOf(reports)
	for i := range reports {
		in.observePool(o, &reports[i], attrs[i])
	}
	// ScopePools are few: their attributes are made at each collection.
	for _, s := range tracker.ScopePoolTotals() {
		a := metric.WithAttributeSet(attribute.NewSet(AttrScopePool.String(s.Name)))
		for _, sc := range in.scope {
			o.ObserveInt64(sc.inst, sc.value(&s), a)
		}
	}
	return nil
}

func (in *instruments) observePool(o metric.Observer, r *tracker.PoolReport, a *poolAttrs) {
	for _, p := range in.pool {
		o.ObserveInt64(p.inst, p.value(r), a.pool...)
	}
	st := &r.Stats
	// As in package slabprom: the slots no one holds are what the others
	// leave of the capacity, read a moment apart from the quarantine.
	inSlabs := max(0, st.Capacity-st.Live-st.Cached-st.ScopeFree-st.Retired-int64(r.Quarantined))
	for h, n := range [len(holders)]int64{st.Cached, st.ScopeFree, inSlabs} {
		o.ObserveInt64(in.free, n, a.holder[h]...)
	}
	if st.MaxObjects > 0 {
		o.ObserveInt64(in.limit, st.MaxObjects, a.pool...)
	}
	if in.quarantined == nil {
		return
	}
	o.ObserveInt64(in.quarantined, int64(r.Quarantined), a.pool...)
	for k, kind := range in.kinds {
		o.ObserveInt64(in.violations, int64(r.Violations[kind.Value.AsString()]), a.kind[k]...)
	}
}

// holders are the values of the attribute holder, in the order
// observePool observes them.
var holders = [...]string{"cache", "scope", "slab"}

// poolAttrs are the attribute sets of every observation of one pool, as
// the options of ObserveInt64, made once and shared by every collection:
// passed as a slice, they cost the call no allocation.
type poolAttrs struct {
	pool   []metric.ObserveOption // pool, type
	holder [len(holders)][]metric.ObserveOption
	kind   [][]metric.ObserveOption // by instruments.kinds (debug builds)
}

type poolKey struct{ name, typ string }

// attrsOf returns the attributes of each report's observations, from
// those of the previous collection where the pool was in it. A pool that
// has left leaves the cache with the next collection.
func (in *instruments) attrsOf(reports []tracker.PoolReport) []*poolAttrs {
	in.mu.Lock()
	defer in.mu.Unlock()
	old := in.attrs
	in.attrs = make(map[poolKey]*poolAttrs, len(reports))
	out := make([]*poolAttrs, len(reports))
	for i := range reports {
		k := poolKey{reports[i].Name, reports[i].Type}
		a := old[k]
		if a == nil {
			a = in.newAttrs(k)
		}
		in.attrs[k] = a
		out[i] = a
	}
	return out
}

func (in *instruments) newAttrs(k poolKey) *poolAttrs {
	pool, typ := AttrPool.String(k.name), AttrType.String(k.typ)
	opts := func(kvs ...attribute.KeyValue) []metric.ObserveOption {
		return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}
	a := &poolAttrs{pool: opts(pool, typ)}
	for h, v := range holders {
		a.holder[h] = opts(pool, typ, AttrHolder.String(v))
	}
	for _, kind := range in.kinds {
		a.kind = append(a.kind, opts(pool, typ, kind))
	}
	return a
}
